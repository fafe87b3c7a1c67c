package io.github.hangup.server;

import reactor.core.CoreSubscriber;
import reactor.core.publisher.Mono;

import org.springframework.http.server.reactive.HttpHandler;
import org.springframework.http.server.reactive.ServerHttpRequest;
import org.springframework.http.server.reactive.ServerHttpResponse;

/**
 * Wraps the application's {@link HttpHandler}, outside WebFlux's request observation. It
 * opens each request's {@link InboundScope}, which {@link HangupWebFilter} then finds in the
 * Reactor {@code Context}. The server cancels a request whose connection closed (or whose
 * HTTP/2 stream was reset) through here first, so the web filter decides whether its client
 * left before WebFlux stops the request's observation, and the observation filter only reads
 * that decision: how a request ended does not depend on whether it is observed.
 */
final class ServerAborts implements HttpHandler {

	private final HttpHandler delegate;

	ServerAborts(HttpHandler delegate) {
		this.delegate = delegate;
	}

	@Override
	public Mono<Void> handle(ServerHttpRequest request, ServerHttpResponse response) {
		return new Watched(this.delegate.handle(request, response));
	}

	/**
	 * The request's handling with its scope: one operator, where {@code doOnCancel} and
	 * {@code contextWrite} would be two and a callback holder.
	 */
	private static final class Watched extends Mono<Void> {

		private final Mono<Void> source;

		Watched(Mono<Void> source) {
			this.source = source;
		}

		@Override
		public void subscribe(CoreSubscriber<? super Void> actual) {
			this.source.subscribe(new Watch(actual, new InboundScope()));
		}

	}

	private static final class Watch extends Relay {

		private final InboundScope scope;

		Watch(CoreSubscriber<? super Void> actual, InboundScope scope) {
			super(actual, scope.into(actual.currentContext()));
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
