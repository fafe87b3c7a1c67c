package io.github.hangup.sample.proxy;

import java.net.URI;
import java.util.function.Supplier;

import io.github.hangup.sample.demo.DemoUpstream;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.actuate.autoconfigure.endpoint.web.WebEndpointProperties;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
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
 * Wires the reverse proxy: routes, the upstream client and the catch-all route.
 */
@Configuration(proxyBeanMethods = false)
@EnableConfigurationProperties(ProxyProperties.class)
class ProxyConfiguration {

	@Bean
	RouteTable routeTable(ProxyProperties properties, ObjectProvider<DemoUpstream> demoUpstream) {
		URI upstreamUrl = properties.getUpstreamUrl();
		Supplier<URI> defaultUpstream = (upstreamUrl != null) ? () -> upstreamUrl
				: () -> demoUpstream.getObject().getUri();
		return new RouteTable(properties.getRoutes().values(), defaultUpstream);
	}

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
		// One path pattern per route, so that metrics tag a hang-up with its route
		// (uri="/catalog/**") rather than UNKNOWN; the route table still picks the
		// upstream.
		RouterFunctions.Builder router = RouterFunctions.route();
		for (String prefix : routeTable.prefixes()) {
			String base = prefix.endsWith("/") ? prefix.substring(0, prefix.length() - 1) : prefix;
			router.route(RequestPredicates.path(base + "/**").and(forwarded), forward);
		}
		return router.route(RequestPredicates.path("/**").and(forwarded), forward).build();
	}

}
