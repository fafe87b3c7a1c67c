package io.github.hangup.server;

import java.util.List;

import io.github.hangup.HangupKind;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import reactor.core.publisher.Mono;

import org.springframework.context.SmartLifecycle;

/**
 * Closes the requests still in flight when graceful shutdown is over (finished or timed
 * out), just before the web server stops and closes their connections. Done here, each is
 * recorded as a {@link HangupKind#SERVER_CLOSE} rather than taken for a client that left,
 * and its outbound calls are stopped while the application's HTTP clients still run. Logs
 * one INFO line per shutdown with the number of requests it closed.
 * <p>
 * The stop ends once every closed request has its answer written (a {@code 503} before
 * the response, a cut stream during it), so that the web server's stop does not close a
 * connection under an answer still on its way; Spring bounds that wait with
 * {@code spring.lifecycle.timeout-per-shutdown-phase}.
 */
final class ServerShutdown implements SmartLifecycle {

	/**
	 * Phase of this lifecycle: between Boot's graceful shutdown
	 * ({@code SmartLifecycle.DEFAULT_PHASE - 1024}) and the web server's stop
	 * ({@code SmartLifecycle.DEFAULT_PHASE - 2048}); higher phases stop first.
	 */
	static final int PHASE = SmartLifecycle.DEFAULT_PHASE - 1536;

	private static final Log logger = LogFactory.getLog("io.github.hangup.Hangups");

	private final HangupWebFilter filter;

	private volatile boolean running;

	/**
	 * Create the shutdown step.
	 * @param filter the filter that knows the requests in flight
	 */
	ServerShutdown(HangupWebFilter filter) {
		this.filter = filter;
	}

	@Override
	public void start() {
		this.running = true;
	}

	/**
	 * Close the requests still in flight without waiting for their answers: Spring's
	 * lifecycle calls {@link #stop(Runnable)}, which waits.
	 */
	@Override
	public void stop() {
		close().subscribe();
	}

	@Override
	public void stop(Runnable callback) {
		close().subscribe(null, (ex) -> callback.run(), callback);
	}

	private Mono<Void> close() {
		this.running = false;
		List<Mono<Void>> closed = this.filter.closeInFlight();
		if (!closed.isEmpty()) {
			logger.info("Shutdown closed " + closed.size() + ((closed.size() == 1) ? " request" : " requests")
					+ " still in flight (" + HangupKind.SERVER_CLOSE + ")");
		}
		return Mono.when(closed);
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
