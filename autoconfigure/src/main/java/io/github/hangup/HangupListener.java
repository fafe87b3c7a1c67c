package io.github.hangup;

/**
 * Receives every hang-up once. Declare beans of this type to add sinks (metrics, logs, an
 * event buffer); all of them are called, in order.
 * <p>
 * Listeners run on the thread that observed the hang-up, often a Netty event loop: they
 * must not block.
 *
 * @since 0.1.0
 */
@FunctionalInterface
public interface HangupListener {

	/**
	 * Called once per hang-up.
	 * @param event the hang-up
	 */
	void onHangup(HangupEvent event);

	/**
	 * Called once per outbound call sent again after a stale connection failed it; the
	 * call itself ends as the retry does. Does nothing unless overridden.
	 * @param retry the retry
	 * @since 0.2.0
	 */
	default void onRetry(HangupRetry retry) {
	}

}
