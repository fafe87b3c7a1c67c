package io.github.hangup.server;

import java.util.concurrent.atomic.AtomicInteger;

import io.github.hangup.HangupKind;
import io.github.hangup.InboundScope;
import reactor.core.CoreSubscriber;
import reactor.core.publisher.Mono;
import reactor.core.publisher.MonoOperator;
import reactor.core.publisher.SignalType;

import org.springframework.core.Ordered;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.server.WebFilter;
import org.springframework.web.server.WebFilterChain;

/**
 * Opens an {@link InboundScope} for every inbound request and detects the inbound client
 * leaving: the server cancels the request's processing when the connection (or HTTP/2
 * stream) closes before the response completed. Records that once as
 * {@link HangupKind#CLIENT_CANCEL} and tells the request's outbound calls.
 * <p>
 * The scope travels in the Reactor {@code Context}, and is also made current on the thread
 * while the request's processing is subscribed, so that handler code that subscribes an
 * outbound call outside the chain ({@code toFuture()}, {@code subscribe()}) finds it.
 *
 * @since 0.1.0
 */
public final class HangupWebFilter implements WebFilter, Ordered {

	/**
	 * Order of this filter: early, so that the scope covers the whole request.
	 */
	public static final int ORDER = Ordered.HIGHEST_PRECEDENCE + 10;

	private final InboundHangups hangups;

	private final AtomicInteger openScopes = new AtomicInteger();

	/**
	 * Create a filter.
	 * @param hangups records inbound hang-ups
	 */
	public HangupWebFilter(InboundHangups hangups) {
		this.hangups = hangups;
	}

	/**
	 * Return the number of inbound requests currently being processed under a scope.
	 * @return the open scopes
	 */
	public int openScopes() {
		return this.openScopes.get();
	}

	@Override
	public Mono<Void> filter(ServerWebExchange exchange, WebFilterChain chain) {
		InboundScope scope = new InboundScope();
		exchange.getAttributes().put(InboundScope.ATTRIBUTE, scope);
		ServerWebExchange counted = exchange.mutate()
			.response(CountingResponse.of(exchange.getResponse(), scope))
			.build();
		this.openScopes.incrementAndGet();
		Mono<Void> processing = new CurrentScope(chain.filter(counted), scope);
		return processing
			// doOnCancel runs before the cancel travels upstream, so outbound calls cancelled
			// by it already see the client as gone.
			.doOnCancel(() -> cancelled(counted, scope))
			.doOnSuccess((done) -> completed(counted, scope))
			.doOnError((ex) -> scope.close())
			.doFinally((signal) -> {
				if (signal == SignalType.CANCEL && scope.isClientGone()) {
					// The cancel went down the chain first: what is left had left the chain.
					scope.stopRemaining();
				}
				this.openScopes.decrementAndGet();
			})
			.contextWrite((context) -> context.put(InboundScope.CONTEXT_KEY, scope));
	}

	private void cancelled(ServerWebExchange exchange, InboundScope scope) {
		if (InboundHangups.isResponseComplete(exchange.getRequest(), exchange.getResponse(), scope)) {
			scope.close();
		}
		else {
			this.hangups.clientLeaving(exchange, scope);
		}
	}

	private void completed(ServerWebExchange exchange, InboundScope scope) {
		// Reactor Netty completes a streaming write quietly when the client closes the
		// connection mid-body, cancelling the upstream body it was relaying. A closed
		// connection alone proves nothing: clients close right after a complete response.
		if (scope.hasCancelledParticipants()
				&& !InboundHangups.isResponseComplete(exchange.getRequest(), exchange.getResponse(), scope)
				&& Boolean.FALSE.equals(InboundHangups.isConnectionOpen(exchange.getResponse()))) {
			this.hangups.clientGone(exchange, scope, null);
		}
		else {
			scope.close();
		}
	}

	@Override
	public int getOrder() {
		return ORDER;
	}

	/**
	 * Makes the scope current on the thread while the processing is subscribed: that is
	 * when WebFlux invokes handlers whose arguments are ready.
	 */
	private static final class CurrentScope extends MonoOperator<Void, Void> {

		private final InboundScope scope;

		CurrentScope(Mono<Void> source, InboundScope scope) {
			super(source);
			this.scope = scope;
		}

		@Override
		public void subscribe(CoreSubscriber<? super Void> actual) {
			InboundScope previous = InboundScope.makeCurrent(this.scope);
			try {
				this.source.subscribe(actual);
			}
			finally {
				InboundScope.restore(previous);
			}
		}

	}

}
