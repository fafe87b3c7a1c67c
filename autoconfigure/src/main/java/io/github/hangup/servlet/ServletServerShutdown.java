package io.github.hangup.servlet;

import java.util.List;
import java.util.concurrent.CompletableFuture;

import io.github.hangup.HangupKind;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;

import org.springframework.context.SmartLifecycle;

/**
 * Closes the Spring MVC requests still in flight when graceful shutdown is over (finished
 * or timed out), just before the web server stops and closes their connections, as
 * {@link io.github.hangup.server.ServerShutdown} does for WebFlux: each is recorded as a
 * {@link HangupKind#SERVER_CLOSE} rather than taken for a client that left, and its
 * outbound calls are stopped while the application's HTTP clients still run, so that the
 * threads waiting on them are released and answer {@code 503}. Logs one INFO line per
 * shutdown with the number of requests it closed.
 * <p>
 * The stop ends once every closed request has ended; Spring bounds that wait with
 * {@code spring.lifecycle.timeout-per-shutdown-phase}.
 *
 * @since 0.3.0
 */
public final class ServletServerShutdown implements SmartLifecycle {

	/**
	 * Phase of this lifecycle: between Boot's graceful shutdown
	 * ({@code SmartLifecycle.DEFAULT_PHASE - 1024}) and the web server's stop
	 * ({@code SmartLifecycle.DEFAULT_PHASE - 2048}); higher phases stop first.
	 */
	public static final int PHASE = SmartLifecycle.DEFAULT_PHASE - 1536;

	private static final Log logger = LogFactory.getLog("io.github.hangup.Hangups");

	private final HangupServletFilter filter;

	private volatile boolean running;

	/**
	 * Create the shutdown step.
	 * @param filter the filter that knows the requests in flight
	 */
	public ServletServerShutdown(HangupServletFilter filter) {
		this.filter = filter;
	}

	@Override
	public void start() {
		this.running = true;
	}

	@Override
	public void stop() {
		close();
	}

	@Override
	public void stop(Runnable callback) {
		close().whenComplete((ended, ex) -> callback.run());
	}

	private CompletableFuture<Void> close() {
		this.running = false;
		List<CompletableFuture<Void>> closed = this.filter.closeInFlight();
		if (!closed.isEmpty()) {
			logger.info("Shutdown closed " + closed.size() + ((closed.size() == 1) ? " request" : " requests")
					+ " still in flight (" + HangupKind.SERVER_CLOSE + ")");
		}
		return CompletableFuture.allOf(closed.toArray(new CompletableFuture<?>[0]));
	}

	@Override
	public boolean isRunning() {
		return this.running;
	}

	@Override
	public int getPhase() {
		return PHASE;
	}

}
