package io.github.hangup.server;

import java.util.concurrent.atomic.AtomicInteger;

import io.github.hangup.HangupKind;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;

import org.springframework.beans.factory.DisposableBean;
import org.springframework.context.SmartLifecycle;

/**
 * Knows when this application's server is about to close the requests still in flight: its
 * lifecycle stops after graceful shutdown ended (finished or timed out) and before the web
 * server stops, so that every request the server then closes is a
 * {@link HangupKind#SERVER_CLOSE}, not a client that left. Logs one INFO line per shutdown
 * with the number of requests it closed.
 *
 * @since 0.2.0
 */
public final class ServerShutdown implements SmartLifecycle, DisposableBean {

	/**
	 * Phase of this lifecycle: between Boot's graceful shutdown
	 * ({@code SmartLifecycle.DEFAULT_PHASE - 1024}) and the web server's stop
	 * ({@code SmartLifecycle.DEFAULT_PHASE - 2048}); higher phases stop first.
	 */
	public static final int PHASE = SmartLifecycle.DEFAULT_PHASE - 1536;

	private static final Log logger = LogFactory.getLog("io.github.hangup.Hangups");

	private final AtomicInteger closed = new AtomicInteger();

	private volatile boolean running;

	private volatile boolean closing;

	/**
	 * Return whether the server is closing the requests still in flight.
	 * @return {@code true} from the end of graceful shutdown on
	 */
	public boolean isClosing() {
		return this.closing;
	}

	/**
	 * Count one request closed by the server.
	 */
	void closed() {
		this.closed.incrementAndGet();
	}

	/**
	 * Return how many requests the server closed while shutting down.
	 * @return the count
	 */
	public int closedRequests() {
		return this.closed.get();
	}

	@Override
	public void start() {
		this.running = true;
	}

	@Override
	public void stop() {
		this.closing = true;
		this.running = false;
	}

	@Override
	public boolean isRunning() {
		return this.running;
	}

	@Override
	public int getPhase() {
		return PHASE;
	}

	/**
	 * After every lifecycle stopped, the web server included: the requests it closed have
	 * been counted.
	 */
	@Override
	public void destroy() {
		int count = this.closed.get();
		if (this.closing && count > 0 && logger.isInfoEnabled()) {
			logger.info("Shutdown closed " + count + ((count == 1) ? " request" : " requests")
					+ " still in flight (" + HangupKind.SERVER_CLOSE + ")");
		}
	}

}
