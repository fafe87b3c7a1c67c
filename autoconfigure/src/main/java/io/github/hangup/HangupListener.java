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

}
