package io.github.hangup.servlet;

import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;

/**
 * The watch of one synchronous request's connection while the request waits on its calls,
 * for a container whose thread holds the request until it returns: looks at the
 * connection run on a watching thread, and the request's thread, on its way back to the
 * container (which then recycles the request), waits for a look under way to end. One
 * {@code int} state, changed by CAS: idle, looking, ended.
 */
final class WaitingWatch {

	private static final Log logger = LogFactory.getLog(WaitingWatch.class);

	private static final AtomicIntegerFieldUpdater<WaitingWatch> STATE = AtomicIntegerFieldUpdater
		.newUpdater(WaitingWatch.class, "state");

	private static final int IDLE = 0;

	private static final int LOOKING = 1;

	private static final int ENDED = 2;

	private final BooleanSupplier waiting;

	private final Supplier<Look> connection;

	private final Runnable gone;

	private volatile int state;

	/**
	 * Create a watch.
	 * @param waiting whether the request waits on calls
	 * @param connection looks at the request's connection
	 * @param gone run once when the client is found gone
	 */
	WaitingWatch(BooleanSupplier waiting, Supplier<Look> connection, Runnable gone) {
		this.waiting = waiting;
		this.connection = connection;
		this.gone = gone;
	}

	/**
	 * Look at the connection once, on the watching thread.
	 * @return whether the watch ended
	 */
	boolean look() {
		if (!this.waiting.getAsBoolean()) {
			return this.state == ENDED;
		}
		if (!STATE.compareAndSet(this, IDLE, LOOKING)) {
			return true;
		}
		Look look = Look.AHEAD;
		try {
			// Again, now that the request's thread cannot return to Tomcat: it may
			// have stopped waiting since.
			look = this.waiting.getAsBoolean() ? this.connection.get() : Look.HERE;
			if (look == Look.GONE) {
				// Still looking: what it runs reads the request, which must not
				// go back to Tomcat, to serve the next request, in the meantime.
				this.gone.run();
			}
		}
		catch (RuntimeException ex) {
			logger.debug("Cannot watch the connection of a request", ex);
		}
		finally {
			this.state = (look == Look.HERE) ? IDLE : ENDED;
		}
		return look != Look.HERE;
	}

	/** Whether the watch ended: its request ended, or a look found the client gone. */
	boolean isEnded() {
		return this.state == ENDED;
	}

	/** End the watch, on the request's thread, once a look under way ended. */
	void end() {
		while (!STATE.compareAndSet(this, IDLE, ENDED)) {
			if (this.state == ENDED) {
				return;
			}
			Thread.onSpinWait();
		}
	}

	/** What a look at a request's connection found. */
	enum Look {

		/** Nothing to say: the client is there, or the request still reads its body. */
		HERE,

		/** The client closed or reset the connection. */
		GONE,

		/**
		 * The client sent bytes ahead (a pipelined request), kept for the next request:
		 * the connection can no longer be watched.
		 */
		AHEAD

	}

}
