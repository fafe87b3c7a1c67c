package io.github.hangup.client;

import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.jspecify.annotations.Nullable;
import reactor.core.Disposable;
import reactor.netty.Connection;

/**
 * The response timeout of a Reactor Netty connection: fires when nothing arrived for the
 * timeout, before the response or between two chunks of its body. One task on the
 * connection's event loop, which reschedules itself while data keeps arriving.
 * <p>
 * Reactor Netty only: created through {@link ResponseTimeout}'s holder of Reactor Netty
 * code, so that other connectors never load it.
 */
final class IdleTimer implements Disposable, Runnable {

	private final Connection connection;

	private final ResponseTimeout timeout;

	private volatile @Nullable Future<?> task;

	private volatile boolean disposed;

	IdleTimer(Connection connection, ResponseTimeout timeout) {
		this.connection = connection;
		this.timeout = timeout;
	}

	/** Schedule the next check in {@code nanos}, in place of one still pending. */
	void schedule(long nanos) {
		Future<?> previous = this.task;
		Future<?> scheduled = this.connection.channel().eventLoop().schedule(this, nanos, TimeUnit.NANOSECONDS);
		this.task = scheduled;
		if (previous != null && !previous.isDone()) {
			// A shorter limit took over (a stream's own): one check pending, not two.
			previous.cancel(false);
		}
		if (this.disposed) {
			// Disposed while scheduling: the check in run() would only have found it later.
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
			this.connection.dispose();
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
