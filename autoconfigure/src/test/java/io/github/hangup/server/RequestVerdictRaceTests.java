package io.github.hangup.server;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import io.github.hangup.DefaultHangupClassifier;
import io.github.hangup.HangupEvent;
import io.github.hangup.HangupObservations;
import io.github.hangup.HangupRecorder;
import io.micrometer.common.KeyValue;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Sinks;

import org.springframework.http.server.reactive.observation.ServerRequestObservationContext;
import org.springframework.mock.http.server.reactive.MockServerHttpRequest;
import org.springframework.mock.web.server.MockServerWebExchange;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The server's abort of a request and the end of its processing come on their own
 * threads: a client that leaves just as the processing completes is counted on Boot's
 * {@code http.server.requests} exactly when it is on {@code http.server.hangups}, which
 * the web filter decides and the observation reads.
 */
class RequestVerdictRaceTests {

	private static final int ROUNDS = 20_000;

	private final ExecutorService threads = Executors.newFixedThreadPool(2);

	@AfterEach
	void stop() {
		this.threads.shutdownNow();
	}

	@Test
	void observationAndHangupsAgreeWhenTheClientLeavesAsTheProcessingCompletes() throws Exception {
		CyclicBarrier barrier = new CyclicBarrier(2);
		HangupServerObservationFilter observationFilter = new HangupServerObservationFilter(null);
		int cancels = 0;
		for (int round = 0; round < ROUNDS; round++) {
			List<HangupEvent> events = new CopyOnWriteArrayList<>();
			HangupWebFilter filter = new HangupWebFilter(new DefaultHangupClassifier(), HangupRecorder.of(events::add));
			MockServerWebExchange exchange = MockServerWebExchange.from(MockServerHttpRequest.get("/items/1"));
			Sinks.Empty<Void> processing = Sinks.empty();
			filter.filter(exchange, (filtered) -> processing.asMono()).subscribe();
			InboundScope scope = exchange.getRequiredAttribute(InboundScope.ATTRIBUTE);
			ServerRequestObservationContext observation = new ServerRequestObservationContext(exchange.getRequest(),
					exchange.getResponse(), exchange.getAttributes());
			Future<?> complete = this.threads.submit(() -> {
				await(barrier);
				processing.tryEmitEmpty();
			});
			Future<?> abort = this.threads.submit(() -> {
				await(barrier);
				// What the server does when the connection goes away before the
				// processing ended: the cancel passes the handler Hangup wraps, then
				// WebFlux's observation.
				scope.serverAborted();
				observation.setConnectionAborted(true);
				observationFilter.map(observation);
			});
			complete.get();
			abort.get();
			KeyValue hangup = observation.getLowCardinalityKeyValue(HangupObservations.KEY);
			boolean observedCancel = hangup != null && hangup.getValue().equals("CLIENT_CANCEL");
			assertThat(events).as("round %d, observed %s", round, hangup).hasSize(observedCancel ? 1 : 0);
			assertThat(exchange.<InboundScope>getAttribute(InboundScope.ATTRIBUTE).participants()).isZero();
			cancels += observedCancel ? 1 : 0;
		}
		// Both orders happened, or the race was not exercised.
		assertThat(cancels).isBetween(1, ROUNDS - 1);
	}

	private static void await(CyclicBarrier barrier) {
		try {
			barrier.await();
		}
		catch (Exception ex) {
			throw new IllegalStateException(ex);
		}
	}

}
