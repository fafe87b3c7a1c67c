package io.github.hangup.gateway;

import io.github.hangup.HangupPhase;
import org.jspecify.annotations.Nullable;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

import org.springframework.cloud.gateway.filter.GatewayFilterChain;
import org.springframework.cloud.gateway.filter.GlobalFilter;
import org.springframework.cloud.gateway.filter.NettyWriteResponseFilter;
import org.springframework.core.Ordered;
import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.http.server.reactive.ServerHttpResponse;
import org.springframework.http.server.reactive.ServerHttpResponseDecorator;
import org.springframework.web.server.ServerWebExchange;

/**
 * Gateway filter that follows the proxied call of {@link HangupGatewayFilter} through its
 * response body, which Gateway's {@link NettyWriteResponseFilter} relays once every
 * filter has run: records the body's failures (the upstream resetting or closing
 * mid-body) on the route's id, sees its end, and sees a cancel wherever it happens, also
 * between the response head and the body.
 *
 * @since 0.2.0
 */
public final class HangupGatewayResponseFilter implements GlobalFilter, Ordered {

	/**
	 * Order of this filter: right before Gateway's {@link NettyWriteResponseFilter}, so
	 * that the body it writes goes through this filter's response.
	 */
	public static final int ORDER = NettyWriteResponseFilter.WRITE_RESPONSE_FILTER_ORDER - 1;

	@Override
	public Mono<Void> filter(ServerWebExchange exchange, GatewayFilterChain chain) {
		ServerWebExchange watched = exchange.mutate()
			.response(new CallResponse(exchange.getResponse(), exchange))
			.build();
		return chain.filter(watched).doOnCancel(() -> {
			// Also a cancel between the response head and its body, which no operator of
			// the call sees: NettyWriteResponseFilter then closes the connection.
			GatewayCall call = call(exchange);
			if (call != null) {
				call.cancelled(call.phase());
			}
		}).doOnTerminate(() -> {
			// The request went on without reading the response body (a filter answered
			// instead): the call is over, not hung up.
			GatewayCall call = call(exchange);
			if (call != null) {
				call.finished();
			}
		});
	}

	private static @Nullable GatewayCall call(ServerWebExchange exchange) {
		return exchange.getAttribute(HangupGatewayFilter.CALL_ATTRIBUTE);
	}

	@Override
	public int getOrder() {
		return ORDER;
	}

	/**
	 * The response as NettyWriteResponseFilter writes it: its body goes through the call.
	 */
	private static final class CallResponse extends ServerHttpResponseDecorator {

		private final ServerWebExchange exchange;

		CallResponse(ServerHttpResponse delegate, ServerWebExchange exchange) {
			super(delegate);
			this.exchange = exchange;
		}

		@Override
		public Mono<Void> writeWith(Publisher<? extends DataBuffer> body) {
			GatewayCall call = respondedCall();
			if (call == null) {
				return super.writeWith(body);
			}
			// A Mono body stays a Mono: the server writes it with a Content-Length.
			Flux<? extends DataBuffer> followed = follow(Flux.from(body), call);
			return super.writeWith((body instanceof Mono) ? Mono.fromDirect(followed) : followed);
		}

		@Override
		public Mono<Void> writeAndFlushWith(Publisher<? extends Publisher<? extends DataBuffer>> body) {
			GatewayCall call = respondedCall();
			return super.writeAndFlushWith((call != null) ? follow(Flux.from(body), call) : body);
		}

		private @Nullable GatewayCall respondedCall() {
			GatewayCall call = call(this.exchange);
			return (call != null && call.isResponded()) ? call : null;
		}

	}

	/**
	 * The upstream's response body as relayed: its failures classified, its cancel and
	 * its end seen.
	 */
	private static <T> Flux<T> follow(Flux<T> body, GatewayCall call) {
		return body.doOnSubscribe(call::subscribed)
			.onErrorMap((error) -> call.failed(error, HangupPhase.DURING_RESPONSE))
			.doOnComplete(call::finished)
			.doOnCancel(() -> call.cancelled(HangupPhase.DURING_RESPONSE));
	}

}
