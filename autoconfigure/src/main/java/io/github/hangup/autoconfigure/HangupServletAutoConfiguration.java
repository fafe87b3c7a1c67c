package io.github.hangup.autoconfigure;

import java.util.EnumMap;
import java.util.List;
import java.util.Map;

import io.github.hangup.HangupClassifier;
import io.github.hangup.HangupKind;
import io.github.hangup.HangupRecorder;
import io.github.hangup.metrics.HangupMetrics;
import io.github.hangup.servlet.HangupCallableProcessingInterceptor;
import io.github.hangup.servlet.HangupHandlerExceptionResolver;
import io.github.hangup.servlet.HangupServletFilter;
import io.github.hangup.servlet.HangupServletObservationFilter;
import io.github.hangup.servlet.HangupServletProblemDetailCustomizer;
import io.github.hangup.servlet.HangupJettyHandler;
import io.github.hangup.servlet.HangupTomcatValve;
import io.github.hangup.servlet.ServletHangups;
import io.github.hangup.servlet.ServletServerShutdown;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.binder.MeterBinder;
import io.micrometer.observation.ObservationRegistry;
import org.eclipse.jetty.server.Server;
import org.apache.catalina.startup.Tomcat;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.boot.jetty.JettyServerCustomizer;
import org.springframework.boot.tomcat.TomcatContextCustomizer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.http.converter.HttpMessageConverter;
import org.springframework.web.servlet.DispatcherServlet;
import org.springframework.web.servlet.config.annotation.AsyncSupportConfigurer;
import org.springframework.web.servlet.config.annotation.WebMvcConfigurer;
import org.springframework.web.servlet.mvc.method.annotation.RequestMappingHandlerAdapter;

/**
 * Installs the inbound components in Spring MVC applications: the
 * {@link HangupServletFilter} that gives each request its scope, and the
 * {@link HangupHandlerExceptionResolver} that answers upstream hang-ups before Boot's
 * error page would answer 500, with problems written by MVC's own message converters and
 * changed by every {@link HangupServletProblemDetailCustomizer} bean. On Tomcat, a valve
 * lets the resolver cut a committed response.
 *
 * @since 0.3.0
 */
@AutoConfiguration(after = HangupAutoConfiguration.class,
		beforeName = "org.springframework.boot.micrometer.observation.autoconfigure.ObservationAutoConfiguration")
@ConditionalOnClass(DispatcherServlet.class)
@ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.SERVLET)
@ConditionalOnBooleanProperty(name = "hangup.enabled", matchIfMissing = true)
public final class HangupServletAutoConfiguration {

	@Bean
	@ConditionalOnMissingBean
	ServletHangups hangupServletHangups(HangupClassifier classifier, HangupRecorder recorder) {
		return new ServletHangups(classifier, recorder);
	}

	@Bean
	@ConditionalOnMissingBean
	HangupServletFilter hangupServletFilter(ServletHangups hangups) {
		return new HangupServletFilter(hangups);
	}

	@Bean
	@ConditionalOnMissingBean
	ServletServerShutdown hangupServletServerShutdown(HangupServletFilter filter) {
		return new ServletServerShutdown(filter);
	}

	@Bean
	@ConditionalOnMissingBean
	HangupHandlerExceptionResolver hangupHandlerExceptionResolver(ServletHangups hangups, HangupProperties properties,
			ObjectProvider<RequestMappingHandlerAdapter> adapters,
			ObjectProvider<HangupServletProblemDetailCustomizer> customizers) {
		return new HangupHandlerExceptionResolver(hangups, statuses(properties), () -> converters(adapters),
				customizers.orderedStream().toList());
	}

	@Bean
	WebMvcConfigurer hangupWebMvcConfigurer() {
		return new WebMvcConfigurer() {

			@Override
			public void configureAsyncSupport(AsyncSupportConfigurer configurer) {
				configurer.registerCallableInterceptors(new HangupCallableProcessingInterceptor());
			}

		};
	}

	/**
	 * The converters MVC writes its responses with, the application's JSON mapper among
	 * them.
	 */
	private static List<HttpMessageConverter<?>> converters(ObjectProvider<RequestMappingHandlerAdapter> adapters) {
		RequestMappingHandlerAdapter adapter = adapters.getIfUnique();
		return (adapter != null) ? adapter.getMessageConverters() : List.of();
	}

	static Map<HangupKind, Integer> statuses(HangupProperties properties) {
		HangupProperties.Server.Status status = properties.getServer().getStatus();
		Map<HangupKind, Integer> statuses = new EnumMap<>(HangupKind.class);
		statuses.put(HangupKind.UPSTREAM_TIMEOUT, status.getUpstreamTimeout());
		statuses.put(HangupKind.UPSTREAM_RESET, status.getUpstreamReset());
		statuses.put(HangupKind.UPSTREAM_UNREACHABLE, status.getUpstreamUnreachable());
		statuses.put(HangupKind.UPSTREAM_PROTOCOL_ERROR, status.getUpstreamProtocolError());
		statuses.put(HangupKind.UPSTREAM_OVERFLOW, status.getUpstreamOverflow());
		return statuses;
	}

	@Configuration(proxyBeanMethods = false)
	@ConditionalOnClass({ Tomcat.class, TomcatContextCustomizer.class })
	static class TomcatConfiguration {

		@Bean
		TomcatContextCustomizer hangupTomcatContextCustomizer() {
			return (context) -> context.getPipeline().addValve(new HangupTomcatValve());
		}

	}

	@Configuration(proxyBeanMethods = false)
	@ConditionalOnClass({ Server.class, JettyServerCustomizer.class })
	static class JettyConfiguration {

		@Bean
		JettyServerCustomizer hangupJettyServerCustomizer() {
			return (server) -> server.setHandler(new HangupJettyHandler(server.getHandler()));
		}

	}

	/**
	 * The gauge of requests served under a scope, as on WebFlux: a value that stays up
	 * reveals a leaked scope.
	 */
	@Configuration(proxyBeanMethods = false)
	@ConditionalOnClass(MeterBinder.class)
	static class MetricsConfiguration {

		@Bean
		MeterBinder hangupServletScopesMetrics(HangupServletFilter filter) {
			return (registry) -> Gauge
				.builder(HangupMetrics.SERVER_SCOPES_ACTIVE, filter, HangupServletFilter::openScopes)
				.description("Inbound requests currently processed under a cancellation scope")
				.register(registry);
		}

	}

	@Configuration(proxyBeanMethods = false)
	@ConditionalOnClass(ObservationRegistry.class)
	@ConditionalOnBooleanProperty(name = "hangup.observation.enabled", matchIfMissing = true)
	static class ObservationConfiguration {

		@Bean
		@ConditionalOnMissingBean
		HangupServletObservationFilter hangupServletObservationFilter(HangupProperties properties) {
			return new HangupServletObservationFilter(properties.getObservation().getClientClosedStatus());
		}

	}

}
