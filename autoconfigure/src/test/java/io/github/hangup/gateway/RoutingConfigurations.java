package io.github.hangup.gateway;

import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import io.github.hangup.HangupRecorder;
import io.github.hangup.client.PropagationMode;
import reactor.core.publisher.Mono;
import reactor.netty.http.client.HttpClient;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.cloud.gateway.config.HttpClientProperties;
import org.springframework.cloud.gateway.filter.GlobalFilter;
import org.springframework.cloud.gateway.filter.NettyRoutingFilter;
import org.springframework.cloud.gateway.filter.headers.HttpHeadersFilter;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Configurations of {@link HangupGatewayAutoConfigurationTests}, outside the test class
 * so that only the gateway tests' execution loads Gateway's types.
 */
final class RoutingConfigurations {

	private RoutingConfigurations() {
	}

	@Configuration(proxyBeanMethods = false)
	static class NettyRouting {

		@Bean
		NettyRoutingFilter routingFilter(ObjectProvider<List<HttpHeadersFilter>> headersFilters) {
			return new NettyRoutingFilter(HttpClient.create(), headersFilters, new HttpClientProperties());
		}

	}

	@Configuration(proxyBeanMethods = false)
	static class UserGatewayFilter {

		@Bean
		HangupGatewayFilter userGatewayFilter() {
			return new HangupGatewayFilter((error, side) -> null, HangupRecorder.of(), PropagationMode.CHAIN);
		}

	}

	@Configuration(proxyBeanMethods = false)
	static class UserGatewayResponseFilter {

		@Bean
		HangupGatewayResponseFilter userGatewayResponseFilter() {
			return new HangupGatewayResponseFilter();
		}

	}

	/**
	 * Holds a request marked {@code X-Hold: <id>} right after the upstream's response
	 * arrived, before Gateway starts relaying its body, until the request is cancelled:
	 * the window no operator of the call itself covers.
	 */
	@Configuration(proxyBeanMethods = false)
	static class HoldAfterResponse {

		/** Ids of the requests being held. */
		static final Set<String> HELD = ConcurrentHashMap.newKeySet();

		@Bean
		GlobalFilter holdAfterResponse() {
			return new OrderedHold();
		}

	}

	static final class OrderedHold implements GlobalFilter, org.springframework.core.Ordered {

		@Override
		public Mono<Void> filter(org.springframework.web.server.ServerWebExchange exchange,
				org.springframework.cloud.gateway.filter.GatewayFilterChain chain) {
			String id = exchange.getRequest().getHeaders().getFirst("X-Hold");
			if (id == null) {
				return chain.filter(exchange);
			}
			// Between NettyWriteResponseFilter (-1) and NettyRoutingFilter: its
			// after-part runs once the response head arrived, before the body is written.
			return chain.filter(exchange)
				.then(Mono.fromRunnable(() -> HoldAfterResponse.HELD.add(id)))
				.then(Mono.never());
		}

		@Override
		public int getOrder() {
			return 0;
		}

	}

	/**
	 * A filter that looks something up with a WebClient before Gateway routes a request
	 * marked {@code X-Lookup: <url>}, as authentication or enrichment filters do.
	 */
	@Configuration(proxyBeanMethods = false)
	static class LookupBeforeRouting {

		@Bean
		GlobalFilter lookupBeforeRouting(org.springframework.web.reactive.function.client.WebClient.Builder builder) {
			org.springframework.web.reactive.function.client.WebClient client = builder.build();
			return (exchange, chain) -> {
				String url = exchange.getRequest().getHeaders().getFirst("X-Lookup");
				return (url != null) ? client.get().uri(url).retrieve().toBodilessEntity().then(chain.filter(exchange))
						: chain.filter(exchange);
			};
		}

	}

	/**
	 * Gateway's HTTP client properties as Gateway binds them, with the pool's idle limit
	 * its user set, if any.
	 */
	@Configuration(proxyBeanMethods = false)
	static class GatewayPool {

		private static final String MAX_IDLE_TIME = "spring.cloud.gateway.server.webflux.httpclient.pool.max-idle-time";

		@Bean
		HttpClientProperties gatewayHttpClientProperties(org.springframework.core.env.Environment environment) {
			HttpClientProperties properties = new HttpClientProperties();
			org.springframework.boot.context.properties.bind.Binder.get(environment)
				.bind(MAX_IDLE_TIME, java.time.Duration.class)
				.ifBound(properties.getPool()::setMaxIdleTime);
			return properties;
		}

		static java.time.@org.jspecify.annotations.Nullable Duration maxIdleTime(
				org.springframework.context.ApplicationContext context) {
			return context.getBean(HttpClientProperties.class).getPool().getMaxIdleTime();
		}

	}

}
