package io.github.hangup.gateway;

import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

import org.springframework.cloud.gateway.filter.GatewayFilter;
import org.springframework.cloud.gateway.filter.GatewayFilterChain;
import org.springframework.cloud.gateway.filter.OrderedGatewayFilter;
import org.springframework.cloud.gateway.filter.factory.RetryGatewayFilterFactory;
import org.springframework.cloud.gateway.route.Route;
import org.springframework.cloud.gateway.support.ServerWebExchangeUtils;
import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.http.HttpHeaders;
import org.springframework.http.server.reactive.ServerHttpRequest;
import org.springframework.http.server.reactive.ServerHttpRequestDecorator;
import org.springframework.web.server.ServerWebExchange;

/**
 * A proxied call that failed on a stale pooled connection goes again through Gateway's
 * routing, as Gateway's own {@code Retry} filter sends an attempt again: the exchange
 * reset, the rest of the chain subscribed once more. Only a replayable request (an
 * idempotent method or an idempotency key, and no body), at most three times, and never
 * on a route that has Gateway's {@code Retry} filter: two layers of retries on one
 * failure would multiply the attempts, so such a route is left to the filter its user
 * configured.
 */
final class StaleAttempts {

	private StaleAttempts() {
	}

	static Mono<Void> retryIfStale(Mono<Void> attempt, GatewayCall call, GatewayFilterChain chain,
			ServerWebExchange exchange) {
		HttpHeaders headers = exchange.getRequest().getHeaders();
		boolean body = headers.getContentLength() > 0 || headers.containsHeader(HttpHeaders.TRANSFER_ENCODING);
		boolean replayable = GatewayCall.replayable(exchange.getRequest().getMethod(), headers, body);
		return retry(attempt, call, chain, exchange, replayable, body);
	}

	private static Mono<Void> retry(Mono<Void> attempt, GatewayCall call, GatewayFilterChain chain,
			ServerWebExchange exchange, boolean replayable, boolean body) {
		return attempt.onErrorResume((error) -> {
			if (!call.retry(error, replayable)) {
				return Mono.error(error);
			}
			// The server's request body can be read once: a request without one goes
			// again with an empty body; one with a body goes again only when nothing of
			// it was written.
			ServerWebExchange again = body ? exchange : withoutBody(exchange);
			return retry(Mono.defer(() -> {
				// What Gateway's Retry filter does before it routes an attempt again.
				ServerWebExchangeUtils.reset(again);
				return chain.filter(again);
			}), call, chain, again, replayable, body);
		});
	}

	private static ServerWebExchange withoutBody(ServerWebExchange exchange) {
		ServerHttpRequest empty = new ServerHttpRequestDecorator(exchange.getRequest()) {

			@Override
			public Flux<DataBuffer> getBody() {
				return Flux.empty();
			}

		};
		return exchange.mutate().request(empty).build();
	}

	/**
	 * Whether the exchange's route has Gateway's {@code Retry} filter. Gateway gives the
	 * filter no type of its own: it is recognized as a filter its factory made.
	 */
	static boolean hasRetryFilter(ServerWebExchange exchange) {
		Route route = exchange.getAttribute(ServerWebExchangeUtils.GATEWAY_ROUTE_ATTR);
		if (route == null) {
			return false;
		}
		for (GatewayFilter filter : route.getFilters()) {
			if (isRetryFilter(filter)) {
				return true;
			}
		}
		return false;
	}

	private static boolean isRetryFilter(@Nullable GatewayFilter filter) {
		GatewayFilter delegate = (filter instanceof OrderedGatewayFilter ordered) ? ordered.getDelegate() : filter;
		return delegate != null && delegate.getClass().getName().startsWith(RetryGatewayFilterFactory.class.getName());
	}

}
