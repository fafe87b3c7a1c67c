package io.github.hangup.support;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import io.github.hangup.HangupObservations;
import io.github.hangup.metrics.HangupMetrics;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * What a client leaving a Spring MVC request leaves behind: one {@code CLIENT_CANCEL} on
 * each hang-up meter and on Boot's timers, and the errors the request's threads got.
 */
public final class ClientLeaving {

	private ClientLeaving() {
	}

	/**
	 * Wait until the request and its one call are counted once as {@code CLIENT_CANCEL}
	 * on {@code http.server.hangups}, {@code http.client.hangups} and Boot's
	 * {@code http.server.requests}, and the call on {@code http.client.requests}, then
	 * check that they stay so.
	 * @param registry the application's registry
	 * @param route the request's route
	 * @param phase the request's phase
	 * @param callPhase the call's own phase: whether the upstream's answer had begun
	 * @param upstreamPort the port of the call's upstream on the loopback address
	 * @param clientTag the hangup key of the call on Boot's client timer
	 */
	public static void assertCounted(MeterRegistry registry, String route, String phase, String callPhase,
			int upstreamPort, String clientTag) {
		HangupMeters.awaitCounts(registry, HangupMetrics.SERVER_HANGUPS,
				Map.of("kind=CLIENT_CANCEL,method=GET,phase=" + phase + ",uri=" + route, 1L));
		HangupMeters.awaitClientHangups(registry,
				Map.of("kind=CLIENT_CANCEL,method=GET,phase=" + callPhase + ",upstream=127.0.0.1:" + upstreamPort, 1L));
		HangupMeters.awaitCounts(registry, "http.server.requests",
				Map.of("hangup=CLIENT_CANCEL,method=GET,uri=" + route, 1L), HangupObservations.KEY, "method", "uri");
		HangupMeters.awaitCounts(registry, "http.client.requests", Map.of("hangup=" + clientTag + ",method=GET", 1L),
				HangupObservations.KEY, "method");
	}

	/**
	 * Return an error and its causes, outermost first.
	 * @param error the error
	 * @return the chain
	 */
	public static List<Throwable> causes(Throwable error) {
		List<Throwable> chain = new ArrayList<>();
		for (Throwable t = error; t != null && chain.size() < 32; t = t.getCause()) {
			chain.add(t);
		}
		return chain;
	}

}
