package io.github.hangup.client;

/**
 * How far a client leaving reaches into the outbound calls made for it.
 *
 * @since 0.1.0
 */
public enum PropagationMode {

	/**
	 * Every outbound call made while serving a request is stopped when its client leaves:
	 * calls in the reactive chain, and calls subscribed outside it from the request's
	 * code ({@code toFuture()}, a detached {@code subscribe()}, {@code cache()}).
	 */
	REQUEST,

	/**
	 * Only Reactor's own propagation: calls in the chain returned to WebFlux are
	 * cancelled, calls that left the chain run on. Cancels are still attributed to the
	 * client.
	 */
	CHAIN,

	/**
	 * Outbound calls do not take part in inbound requests at all; their cancels are not
	 * recorded.
	 */
	OFF

}
