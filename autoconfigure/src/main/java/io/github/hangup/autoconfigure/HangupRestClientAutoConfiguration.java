package io.github.hangup.autoconfigure;

import java.time.Duration;

import java.util.List;

import io.github.hangup.HangupClassifier;
import io.github.hangup.client.HangupClientAttributes;
import io.github.hangup.HangupRecorder;
import io.github.hangup.client.OutboundCalls;
import io.github.hangup.client.blocking.HangupClientHttpRequestInterceptor;

import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.http.client.autoconfigure.ClientHttpRequestFactoryBuilderCustomizer;
import org.springframework.boot.restclient.RestClientCustomizer;
import org.springframework.boot.restclient.RestTemplateCustomizer;
import org.springframework.cloud.gateway.server.mvc.common.MvcUtils;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.core.env.Environment;
import org.springframework.http.client.ClientHttpRequest;
import org.springframework.http.client.ClientHttpRequestInitializer;
import org.springframework.web.client.RestClient;
import org.springframework.web.client.RestTemplate;
import org.springframework.web.context.request.RequestAttributes;
import org.springframework.web.context.request.RequestContextHolder;

/**
 * Makes the calls of the {@code RestClient.Builder} and the {@code RestTemplateBuilder}
 * Boot auto-configures Hangup's outbound calls: the request factories Boot builds for
 * them are wrapped by the {@link HangupClientHttpRequestInterceptor} and get Hangup's
 * response timeout, and the builders get it as a request initializer, for their
 * observations. It is not an interceptor of theirs: Spring buffers the body of a request
 * that has any interceptor.
 *
 * @since 0.3.0
 */
@AutoConfiguration(after = HangupAutoConfiguration.class,
		beforeName = {
				"org.springframework.boot.http.client.autoconfigure.imperative.ImperativeHttpClientAutoConfiguration",
				"org.springframework.boot.restclient.autoconfigure.RestClientAutoConfiguration",
				"org.springframework.boot.restclient.autoconfigure.RestTemplateAutoConfiguration" })
@ConditionalOnClass({ RestClient.class, RestClientCustomizer.class })
@ConditionalOnBooleanProperty(name = "hangup.enabled", matchIfMissing = true)
public final class HangupRestClientAutoConfiguration {

	@Bean
	@ConditionalOnMissingBean
	HangupClientHttpRequestInterceptor hangupClientHttpRequestInterceptor(HangupClassifier classifier,
			HangupRecorder recorder, HangupProperties properties, OutboundCalls calls, Environment environment) {
		// The read timeout the factories Boot builds get, so that the interceptor tells
		// it from a failing connection on the JDK client.
		Duration readTimeout = RequestFactoryReadTimeout.of(properties, environment).readTimeout();
		return new HangupClientHttpRequestInterceptor(classifier, recorder, properties.propagationMode(), calls,
				(readTimeout != null) ? readTimeout : Duration.ZERO);
	}

	@Bean
	RestClientCustomizer hangupRestClientCustomizer(HangupClientHttpRequestInterceptor interceptor) {
		return (builder) -> builder.requestInitializers((initializers) -> once(initializers, interceptor));
	}

	static void once(List<ClientHttpRequestInitializer> initializers, ClientHttpRequestInitializer initializer) {
		initializers.remove(initializer);
		initializers.add(initializer);
	}

	/**
	 * Gives the request factories Boot builds Hangup's response timeout. Boot applies the
	 * customizer to its own {@code ClientHttpRequestFactoryBuilder} only, so that a
	 * request factory of the application's own is left as it is.
	 */
	@Configuration(proxyBeanMethods = false)
	@ConditionalOnClass(ClientHttpRequestFactoryBuilderCustomizer.class)
	static class ReadTimeoutConfiguration {

		@Bean
		@Order(Ordered.LOWEST_PRECEDENCE)
		RequestFactoryReadTimeout hangupRequestFactoryReadTimeout(HangupProperties properties, Environment environment,
				HangupClientHttpRequestInterceptor interceptor) {
			return RequestFactoryReadTimeout.of(properties, environment).wrappingWith(interceptor::wrap);
		}

	}

	/**
	 * Names each call Spring Cloud Gateway Server MVC proxies after its route, as the
	 * calls of the WebFlux Gateway are named: the {@code upstream} tag of a route stays
	 * one value when its URI changes per request (a load-balanced route). A name the
	 * application gave the call is kept.
	 */
	@Configuration(proxyBeanMethods = false)
	@ConditionalOnClass(name = "org.springframework.cloud.gateway.server.mvc.common.MvcUtils")
	static class GatewayMvcConfiguration {

		@Bean
		RestClientCustomizer hangupGatewayMvcRouteNames() {
			return (builder) -> builder.requestInitializer(GatewayMvcConfiguration::nameAfterRoute);
		}

		private static void nameAfterRoute(ClientHttpRequest request) {
			RequestAttributes inbound = RequestContextHolder.getRequestAttributes();
			if (inbound != null && inbound.getAttribute(MvcUtils.GATEWAY_ROUTE_ID_ATTR,
					RequestAttributes.SCOPE_REQUEST) instanceof String route) {
				request.getAttributes().putIfAbsent(HangupClientAttributes.CLIENT_NAME, route);
			}
		}

	}

	@Configuration(proxyBeanMethods = false)
	@ConditionalOnClass({ RestTemplate.class, RestTemplateCustomizer.class })
	static class RestTemplateConfiguration {

		@Bean
		RestTemplateCustomizer hangupRestTemplateCustomizer(HangupClientHttpRequestInterceptor interceptor) {
			return (restTemplate) -> once(restTemplate.getClientHttpRequestInitializers(), interceptor);
		}

	}

}
