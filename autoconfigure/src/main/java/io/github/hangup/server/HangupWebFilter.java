package io.github.hangup.server;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;

import io.github.hangup.HangupClassifier;
import io.github.hangup.HangupKind;
import io.github.hangup.HangupRecorder;
import reactor.core.CoreSubscriber;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Operators;
import reactor.util.context.Context;

import org.springframework.context.SmartLifecycle;
import org.springframework.core.Ordered;
import org.springframework.http.server.reactive.HttpHandler;
import org.springframework.http.server.reactive.ServerHttpResponse;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.server.ServerWebExchangeDecorator;
import org.springframework.web.server.WebFilter;
import org.springframework.web.server.WebFilterChain;

/**
 * Opens an {@link InboundScope} for every inbound request and detects the inbound client
 * leaving: the server cancels the request's processing when the connection (or HTTP/2
 * stream) closes before the response completed. Records that once as
 * {@link HangupKind#CLIENT_CANCEL} and tells the request's outbound calls.
 * <p>
 * The scope travels in the Reactor {@code Context}, and is also made current on the
 * thread while the request's processing is subscribed, so that handler code that
 * subscribes an outbound call outside the chain ({@code toFuture()}, {@code subscribe()})
 * finds it.
 *
 * @since 0.1.0
 */
public final class HangupWebFilter implements WebFilter, Ordered {

	/**
	 * Order of this filter: early, so that the scope covers the whole request.
	 */
	public static final int ORDER = Ordered.HIGHEST_PRECEDENCE + 10;

	private static final String DESCRIPTION = HangupWebFilter.class.getName();

	private static final AtomicIntegerFieldUpdater<ProcessingSubscriber> ENDED = AtomicIntegerFieldUpdater
		.newUpdater(ProcessingSubscriber.class, "ended");

	private final InboundHangups hangups;

	/** The requests being processed, for a shutdown to close those still in flight. */
	private final Set<ProcessingSubscriber> open = ConcurrentHashMap.newKeySet();

	/**
	 * Create a filter.
	 * @param classifier decides which errors are hang-ups
	 * @param recorder receives the inbound hang-ups
	 * @since 0.3.0
	 */
	public HangupWebFilter(HangupClassifier classifier, HangupRecorder recorder) {
		this.hangups = new InboundHangups(classifier, recorder);
	}

	/**
	 * Return a lifecycle that closes the requests still in flight through this filter
	 * once graceful shutdown is over, just before the web server stops: each is recorded
	 * as a {@link HangupKind#SERVER_CLOSE} and its outbound calls are stopped. Register
	 * it as a bean.
	 * @return the lifecycle
	 * @since 0.3.0
	 */
	public SmartLifecycle shutdownLifecycle() {
		return new ServerShutdown(this);
	}

	/**
	 * Wrap the application's {@link HttpHandler} so that a request the server aborts (its
	 * connection closed, its HTTP/2 stream reset) reaches this filter before WebFlux
	 * stops the request's observation: the filter decides then whether the client left,
	 * and the observation only reads it. Register it with
	 * {@code WebHttpHandlerBuilder.httpHandlerDecorator}.
	 * @param handler the application's handler
	 * @return the wrapped handler
	 * @since 0.3.0
	 */
	public static HttpHandler watchAborts(HttpHandler handler) {
		return new ServerAborts(handler);
	}

	/**
	 * Return the number of inbound requests currently being processed under a scope.
	 * @return the open scopes
	 */
	public int openScopes() {
		return this.open.size();
	}

	/**
	 * The server is about to close the requests still being processed: record each as
	 * closed by the server and stop its outbound calls.
	 * @return one {@code Mono} per request closed here (not already hung up), completing
	 * once its answer has been written or its connection closed
	 */
	List<Mono<Void>> closeInFlight() {
		List<Mono<Void>> closed = new ArrayList<>();
		for (ProcessingSubscriber processing : this.open) {
			if (this.hangups.serverClosing(processing.exchange, processing.scope)) {
				closed.add(InboundConnections.responseEnded(processing.exchange.getResponse()));
			}
		}
		return closed;
	}

	@Override
	public Mono<Void> filter(ServerWebExchange exchange, WebFilterChain chain) {
		return new Processing(exchange, chain);
	}

	private void cancelled(ServerWebExchange exchange, InboundScope scope) {
		if (!InboundHangups.isResponseComplete(exchange.getRequest(), exchange.getResponse(), scope)
				|| !scope.close()) {
			this.hangups.clientLeaving(exchange, scope);
		}
	}

	private void completed(ServerWebExchange exchange, InboundScope scope) {
		// Reactor Netty completes a streaming write quietly when the client closes the
		// connection mid-body, cancelling the upstream body it was relaying. A closed
		// connection alone proves nothing: clients close right after a complete response.
		if (scope.hasCancelledParticipants()
				&& !InboundHangups.isResponseComplete(exchange.getRequest(), exchange.getResponse(), scope)
				&& Boolean.FALSE.equals(InboundConnections.isConnectionOpen(exchange.getResponse()))) {
			this.hangups.clientGone(exchange, scope, null);
		}
		else if (!scope.close()) {
			// The request's observation saw the client leave before this end: so it did.
			this.hangups.clientGone(exchange, scope, null);
		}
	}

	@Override
	public int getOrder() {
		return ORDER;
	}

	/**
	 * A constant: WebFlux's filter chain describes every request's checkpoint with it,
	 * and {@code Object.toString()} would build a new string for each.
	 */
	@Override
	public String toString() {
		return DESCRIPTION;
	}

	/**
	 * The request's processing under its scope: one operator that carries the scope in
	 * the Reactor {@code Context}, makes it current on the thread while the processing is
	 * subscribed (that is when WebFlux invokes handlers whose arguments are ready) and
	 * sees how the processing ends. The scope is the one {@link ServerAborts} opened for
	 * the request with its response, or a new one.
	 */
	private final class Processing extends Mono<Void> {

		private final ServerWebExchange exchange;

		private final WebFilterChain chain;

		Processing(ServerWebExchange exchange, WebFilterChain chain) {
			this.exchange = exchange;
			this.chain = chain;
		}

		@Override
		public void subscribe(CoreSubscriber<? super Void> actual) {
			CountingResponse opened = CountingResponse.find(this.exchange.getResponse());
			InboundScope scope;
			ServerWebExchange counted;
			if (opened != null) {
				scope = opened.scope();
				counted = this.exchange;
			}
			else {
				scope = new InboundScope();
				counted = new CountedExchange(this.exchange, CountingResponse.of(this.exchange.getResponse(), scope));
			}
			this.exchange.getAttributes().put(InboundScope.ATTRIBUTE, scope);
			Context context = scope.into(actual.currentContext());
			ProcessingSubscriber subscriber = new ProcessingSubscriber(actual, context, counted, scope);
			HangupWebFilter.this.open.add(subscriber);
			InboundScope previous = CurrentScope.set(scope);
			try {
				this.chain.filter(counted).subscribe(subscriber);
			}
			catch (Throwable ex) {
				Operators.error(subscriber, Operators.onOperatorError(ex, context));
			}
			finally {
				CurrentScope.restore(previous);
			}
		}

	}

	/**
	 * The exchange with its response counted: a decorator rather than
	 * {@code exchange.mutate()}, whose builder costs more on every request.
	 */
	private static final class CountedExchange extends ServerWebExchangeDecorator {

		private final ServerHttpResponse response;

		CountedExchange(ServerWebExchange delegate, ServerHttpResponse response) {
			super(delegate);
			this.response = response;
		}

		@Override
		public ServerHttpResponse getResponse() {
			return this.response;
		}

	}

	private final class ProcessingSubscriber extends Relay implements Runnable {

		private final ServerWebExchange exchange;

		private final InboundScope scope;

		/** 1 once the processing ended, however it did. */
		private volatile int ended;

		ProcessingSubscriber(CoreSubscriber<? super Void> actual, Context context, ServerWebExchange exchange,
				InboundScope scope) {
			super(actual, context);
			this.exchange = exchange;
			this.scope = scope;
			scope.onServerAbort(this);
		}

		/**
		 * The server aborts the request, before WebFlux stops its observation and before
		 * the cancel comes down to {@link #cancel()}: unless the client already has the
		 * whole response, the client left, and a processing that ends in between learns
		 * it.
		 */
		@Override
		public void run() {
			if (this.scope.kind() == null && !InboundHangups.isResponseComplete(this.exchange.getRequest(),
					this.exchange.getResponse(), this.scope)) {
				this.scope.abort();
			}
		}

		@Override
		public void onError(Throwable error) {
			if (end() && !this.scope.close()) {
				HangupWebFilter.this.hangups.clientGone(this.exchange, this.scope, null);
			}
			super.onError(error);
		}

		@Override
		public void onComplete() {
			if (end()) {
				completed(this.exchange, this.scope);
			}
			super.onComplete();
		}

		@Override
		public void cancel() {
			boolean first = end();
			if (first) {
				// Before the cancel travels down the chain, so that outbound calls
				// cancelled by it already see the client as gone.
				cancelled(this.exchange, this.scope);
			}
			super.cancel();
			if (first && this.scope.isClientGone()) {
				// The cancel went down the chain first: what is left had left the chain.
				this.scope.stopRemaining();
			}
		}

		private boolean end() {
			if (ENDED.compareAndSet(this, 0, 1)) {
				HangupWebFilter.this.open.remove(this);
				return true;
			}
			return false;
		}

	}

}
