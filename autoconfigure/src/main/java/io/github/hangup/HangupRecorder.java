package io.github.hangup;

import java.util.List;
import java.util.function.Supplier;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;

/**
 * Hands each hang-up to every {@link HangupListener}. A failing listener is logged and
 * does not stop the others, nor the request that hung up.
 *
 * @since 0.1.0
 */
public final class HangupRecorder {

	private static final Log logger = LogFactory.getLog(HangupRecorder.class);

	private final Supplier<List<HangupListener>> listeners;

	/**
	 * Create a recorder.
	 * @param listeners supplies the listeners; called on every event, so it should cache
	 */
	public HangupRecorder(Supplier<List<HangupListener>> listeners) {
		this.listeners = listeners;
	}

	/**
	 * Create a recorder for a fixed list of listeners.
	 * @param listeners the listeners
	 * @return the recorder
	 */
	public static HangupRecorder of(HangupListener... listeners) {
		List<HangupListener> list = List.of(listeners);
		return new HangupRecorder(() -> list);
	}

	/**
	 * Record one hang-up.
	 * @param event the hang-up
	 */
	public void record(HangupEvent event) {
		for (HangupListener listener : this.listeners.get()) {
			try {
				listener.onHangup(event);
			}
			catch (RuntimeException ex) {
				failed(listener, ex);
			}
		}
	}

	/**
	 * Record one retry of an outbound call.
	 * @param retry the retry
	 * @since 0.2.0
	 */
	public void retried(HangupRetry retry) {
		for (HangupListener listener : this.listeners.get()) {
			try {
				listener.onRetry(retry);
			}
			catch (RuntimeException ex) {
				failed(listener, ex);
			}
		}
	}

	private static void failed(HangupListener listener, RuntimeException ex) {
		logger.warn("Hang-up listener " + listener.getClass().getName() + " failed", ex);
	}

}
