package io.github.hangup.sample.proxy;

import org.springframework.boot.actuate.autoconfigure.endpoint.web.WebEndpointProperties;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.web.client.RestClient;
import org.springframework.web.servlet.function.HandlerFunction;
import org.springframework.web.servlet.function.RequestPredicate;
import org.springframework.web.servlet.function.RequestPredicates;
import org.springframework.web.servlet.function.RouterFunction;
import org.springframework.web.servlet.function.RouterFunctions;
import org.springframework.web.servlet.function.ServerResponse;

/**
 * The proxy on Spring MVC (the {@code mvc} profile): a blocking {@link RestClient} and
 * the same routes as on WebFlux, each relaying the upstream's body as a stream.
 */
@Configuration(proxyBeanMethods = false)
@ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.SERVLET)
class ServletProxyConfiguration {

	@Bean
	ServletReverseProxy servletReverseProxy(RestClient.Builder restClientBuilder, RouteTable routeTable) {
		// The auto-configured builder, not RestClient.create(): it carries every
		// RestClientCustomizer, the Hangup interceptor and its response timeout included.
		return new ServletReverseProxy(restClientBuilder.build(), routeTable);
	}

	@Bean
	RouterFunction<ServerResponse> servletProxyRoute(ServletReverseProxy proxy, RouteTable routeTable,
			WebEndpointProperties endpoints) {
		RequestPredicate forwarded = endpoints.getBasePath().isEmpty() ? RequestPredicates.all()
				: RequestPredicates.path(endpoints.getBasePath() + "/**").negate();
		// The proxy writes the upstream's status and headers over this 200 once it
		// answers; a failure before that reaches MVC's exception handling uncommitted.
		HandlerFunction<ServerResponse> forward = (request) -> ServerResponse.ok()
			.build((servletRequest, servletResponse) -> {
				proxy.forward(request, servletResponse);
				return null;
			});
		RouterFunctions.Builder router = RouterFunctions.route();
		for (String pattern : routeTable.pathPatterns()) {
			router.route(RequestPredicates.path(pattern).and(forwarded), forward);
		}
		return router.build();
	}

}
