package io.github.hangup.server;

import reactor.core.CoreSubscriber;
import reactor.core.publisher.Mono;

import org.springframework.http.server.reactive.HttpHandler;
import org.springframework.http.server.reactive.ServerHttpRequest;
import org.springframework.http.server.reactive.ServerHttpResponse;

/**
 * Wraps the application's {@link HttpHandler}, outside WebFlux's request observation. It
 * opens each request's {@link InboundScope} with the response that counts the body, where
 * {@link HangupWebFilter} then finds it: not in the Reactor {@code Context}, where any
 * entry would make the observation's {@code tap} restore thread locals around each of its
 * signals. The server cancels a request whose connection closed (or whose HTTP/2 stream
 * was reset) through here first, so the web filter decides whether its client left before
 * WebFlux stops the request's observation, and the observation filter only reads that
 * decision: how a request ended does not depend on whether it is observed.
 */
final class ServerAborts implements HttpHandler {

	private final HttpHandler delegate;

	ServerAborts(HttpHandler delegate) {
		this.delegate = delegate;
	}

	@Override
	public Mono<Void> handle(ServerHttpRequest request, ServerHttpResponse response) {
		InboundScope scope = new InboundScope();
		return new Watched(this.delegate.handle(request, CountingResponse.of(response, scope)), scope);
	}

	/**
	 * The request's handling, told first when the server aborts it.
	 */
	private static final class Watched extends Mono<Void> {

		private final Mono<Void> source;

		private final InboundScope scope;

		Watched(Mono<Void> source, InboundScope scope) {
			this.source = source;
			this.scope = scope;
		}

		@Override
		public void subscribe(CoreSubscriber<? super Void> actual) {
			this.source.subscribe(new Watch(actual, this.scope));
		}

	}

	private static final class Watch extends Relay {

		private final InboundScope scope;

		Watch(CoreSubscriber<? super Void> actual, InboundScope scope) {
			super(actual, actual.currentContext());
			this.scope = scope;
		}

		@Override
		public void cancel() {
			// Before the cancel travels down to WebFlux's observation.
			this.scope.serverAborted();
			super.cancel();
		}

	}

}
