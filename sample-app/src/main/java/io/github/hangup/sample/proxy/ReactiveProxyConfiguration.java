package io.github.hangup.sample.proxy;

import org.springframework.boot.actuate.autoconfigure.endpoint.web.WebEndpointProperties;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.boot.http.client.autoconfigure.reactive.ClientHttpConnectorBuilderCustomizer;
import org.springframework.boot.http.client.reactive.ReactorClientHttpConnectorBuilder;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.web.reactive.function.client.WebClient;
import org.springframework.web.reactive.function.server.HandlerFunction;
import org.springframework.web.reactive.function.server.RequestPredicate;
import org.springframework.web.reactive.function.server.RequestPredicates;
import org.springframework.web.reactive.function.server.RouterFunction;
import org.springframework.web.reactive.function.server.RouterFunctions;
import org.springframework.web.reactive.function.server.ServerResponse;

/**
 * The proxy on WebFlux: a {@link WebClient} and a catch-all route that relays each
 * exchange as it streams.
 */
@Configuration(proxyBeanMethods = false)
@ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.REACTIVE)
class ReactiveProxyConfiguration {

	// A proxy relays bodies as they are. Spring's default gzip negotiation would add
	// Accept-Encoding to every upstream request and decompress the answers on the way.
	@Bean
	ClientHttpConnectorBuilderCustomizer<ReactorClientHttpConnectorBuilder> uncompressedUpstreamConnector() {
		return (builder) -> builder.withHttpClientCustomizer((httpClient) -> httpClient.compress(false));
	}

	@Bean
	ReverseProxy reverseProxy(WebClient.Builder webClientBuilder, RouteTable routeTable) {
		// The auto-configured builder, not WebClient.create(): it carries every
		// WebClientCustomizer, the Hangup filter included.
		return new ReverseProxy(webClientBuilder.build(), routeTable);
	}

	@Bean
	RouterFunction<ServerResponse> proxyRoute(ReverseProxy proxy, RouteTable routeTable,
			WebEndpointProperties endpoints) {
		// Actuator endpoints have a higher-priority mapping of their own; excluding their
		// base path also keeps an unknown endpoint from being forwarded upstream.
		RequestPredicate forwarded = endpoints.getBasePath().isEmpty() ? RequestPredicates.all()
				: RequestPredicates.path(endpoints.getBasePath() + "/**").negate();
		// The proxy writes the upstream's status and headers over this 200 once it
		// answers.
		HandlerFunction<ServerResponse> forward = (request) -> ServerResponse.ok()
			.build((exchange, context) -> proxy.forward(exchange));
		RouterFunctions.Builder router = RouterFunctions.route();
		for (String pattern : routeTable.pathPatterns()) {
			router.route(RequestPredicates.path(pattern).and(forwarded), forward);
		}
		return router.build();
	}

}
