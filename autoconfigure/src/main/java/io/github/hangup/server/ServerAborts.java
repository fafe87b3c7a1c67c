package io.github.hangup.server;

import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Mono;

import org.springframework.http.server.reactive.HttpHandler;
import org.springframework.http.server.reactive.ServerHttpRequest;
import org.springframework.http.server.reactive.ServerHttpResponse;

/**
 * Wraps the application's {@link HttpHandler}, outside WebFlux's request observation. The
 * server cancels a request whose connection closed (or whose HTTP/2 stream was reset)
 * through here first, so {@link HangupWebFilter} decides whether its client left before
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
		Watch watch = new Watch();
		return this.delegate.handle(request, response)
			.doOnCancel(watch)
			.contextWrite((context) -> context.put(Watch.class, watch));
	}

	/**
	 * One request's abort, passed to the processing that the web filter registers.
	 */
	static final class Watch implements Runnable {

		private volatile @Nullable Runnable onAbort;

		void onAbort(Runnable onAbort) {
			this.onAbort = onAbort;
		}

		@Override
		public void run() {
			Runnable onAbort = this.onAbort;
			if (onAbort != null) {
				onAbort.run();
			}
		}

	}

}
