package io.github.hangup.client;

import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import io.netty.util.concurrent.EventExecutor;
import org.jspecify.annotations.Nullable;
import reactor.core.Disposable;
import reactor.netty.Connection;

/**
 * The response timeout of a Reactor Netty call: fires when nothing arrived for the
 * timeout, before the response or between two chunks of its body. One task on an event
 * loop, which reschedules itself while data keeps arriving. Armed before the call has a
 * connection, on the event loop it starts from; when the connection turns out to be on
 * that loop, as a proxy's usually is, the same task goes on as the connection's timer:
 * one task per call.
 * <p>
 * Reactor Netty only: created through {@link ResponseTimeout}'s holder of Reactor Netty
 * code, so that other connectors never load it.
 */
final class IdleTimer implements Disposable, Runnable {

	private final EventExecutor loop;

	private final ResponseTimeout timeout;

	/** The call's connection, once the timer is the connection's. */
	private volatile @Nullable Connection connection;

	private volatile @Nullable Future<?> task;

	private volatile boolean disposed;

	IdleTimer(EventExecutor loop, ResponseTimeout timeout) {
		this.loop = loop;
		this.timeout = timeout;
	}

	/**
	 * A timer on the event loop of {@code connection}, closed should the call not stop.
	 */
	IdleTimer(Connection connection, ResponseTimeout timeout) {
		this(connection.channel().eventLoop(), timeout);
		this.connection = connection;
	}

	/**
	 * Go on as the timer of {@code connection}, if it is on this timer's event loop. Call
	 * on the connection's event loop.
	 * @return whether it is
	 */
	boolean bind(Connection connection) {
		if (!this.loop.inEventLoop() || !connection.channel().eventLoop().inEventLoop()) {
			return false;
		}
		this.connection = connection;
		return true;
	}

	/** Schedule the next check in {@code nanos}, in place of one still pending. */
	void schedule(long nanos) {
		Future<?> previous = this.task;
		Future<?> scheduled = this.loop.schedule(this, nanos, TimeUnit.NANOSECONDS);
		this.task = scheduled;
		if (previous != null && !previous.isDone()) {
			// A shorter limit took over (a stream's own): one check pending, not two.
			previous.cancel(false);
		}
		if (this.disposed) {
			// Disposed while scheduling: the check in run() would only have found it
			// later.
			scheduled.cancel(false);
		}
	}

	@Override
	public void run() {
		if (this.disposed) {
			return;
		}
		long remaining = this.timeout.idleRemaining();
		if (remaining > 0) {
			schedule(remaining);
		}
		else if (!this.timeout.idleExpired()) {
			Connection connection = this.connection;
			if (connection != null) {
				connection.dispose();
			}
		}
	}

	@Override
	public void dispose() {
		this.disposed = true;
		Future<?> scheduled = this.task;
		if (scheduled != null) {
			scheduled.cancel(false);
		}
	}

	@Override
	public boolean isDisposed() {
		return this.disposed;
	}

}
