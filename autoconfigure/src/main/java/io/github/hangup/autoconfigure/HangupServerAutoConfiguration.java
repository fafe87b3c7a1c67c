package io.github.hangup.autoconfigure;

import java.util.EnumMap;
import java.util.List;
import java.util.Map;

import io.github.hangup.HangupClassifier;
import io.github.hangup.HangupKind;
import io.github.hangup.HangupRecorder;
import io.github.hangup.server.HangupProblemDetailCustomizer;
import io.github.hangup.server.HangupWebExceptionHandler;
import io.github.hangup.server.HangupWebFilter;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.boot.webflux.autoconfigure.WebHttpHandlerBuilderCustomizer;
import org.springframework.context.SmartLifecycle;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.http.codec.HttpMessageWriter;
import org.springframework.http.codec.ServerCodecConfigurer;
import org.springframework.web.reactive.DispatcherHandler;

/**
 * Installs the inbound components in reactive web applications: the
 * {@link HangupWebFilter} that detects clients leaving and the
 * {@link HangupWebExceptionHandler} that answers upstream hang-ups before Boot's default
 * error handler, with problems written by the application's codecs and changed by every
 * {@link HangupProblemDetailCustomizer} bean.
 *
 * @since 0.1.0
 */
@AutoConfiguration(after = HangupAutoConfiguration.class,
		beforeName = "org.springframework.boot.webflux.autoconfigure.error.ErrorWebFluxAutoConfiguration")
@ConditionalOnClass(DispatcherHandler.class)
@ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.REACTIVE)
@ConditionalOnBooleanProperty(name = "hangup.enabled", matchIfMissing = true)
public final class HangupServerAutoConfiguration {

	@Bean
	@ConditionalOnMissingBean
	HangupWebFilter hangupWebFilter(HangupClassifier classifier, HangupRecorder recorder) {
		return new HangupWebFilter(classifier, recorder);
	}

	@Bean
	SmartLifecycle hangupServerShutdown(HangupWebFilter filter) {
		return filter.shutdownLifecycle();
	}

	/**
	 * Lets the web filter see a request the server aborts before WebFlux stops the
	 * request's observation, so that observations only read how the request ended.
	 */
	@Configuration(proxyBeanMethods = false)
	@ConditionalOnClass(name = "org.springframework.boot.webflux.autoconfigure.WebHttpHandlerBuilderCustomizer")
	static class ServerAbortsConfiguration {

		@Bean
		WebHttpHandlerBuilderCustomizer hangupServerAborts() {
			return (builder) -> builder.httpHandlerDecorator(HangupWebFilter::watchAborts);
		}

	}

	@Bean
	@ConditionalOnMissingBean
	HangupWebExceptionHandler hangupWebExceptionHandler(HangupClassifier classifier, HangupRecorder recorder,
			HangupProperties properties, ObjectProvider<ServerCodecConfigurer> codecs,
			ObjectProvider<HangupProblemDetailCustomizer> customizers) {
		HangupProperties.Server.Status status = properties.getServer().getStatus();
		Map<HangupKind, Integer> statuses = new EnumMap<>(HangupKind.class);
		statuses.put(HangupKind.UPSTREAM_TIMEOUT, status.getUpstreamTimeout());
		statuses.put(HangupKind.UPSTREAM_RESET, status.getUpstreamReset());
		statuses.put(HangupKind.UPSTREAM_UNREACHABLE, status.getUpstreamUnreachable());
		statuses.put(HangupKind.UPSTREAM_PROTOCOL_ERROR, status.getUpstreamProtocolError());
		statuses.put(HangupKind.UPSTREAM_OVERFLOW, status.getUpstreamOverflow());
		List<HttpMessageWriter<?>> writers = codecs.getIfAvailable(ServerCodecConfigurer::create).getWriters();
		return new HangupWebExceptionHandler(classifier, recorder, statuses, writers,
				customizers.orderedStream().toList());
	}

}
