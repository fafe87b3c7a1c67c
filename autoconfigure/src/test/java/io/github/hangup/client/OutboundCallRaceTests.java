package io.github.hangup.client;

import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

import io.github.hangup.DefaultHangupClassifier;
import io.github.hangup.HangupEvent;
import io.github.hangup.HangupKind;
import io.github.hangup.HangupPhase;
import io.github.hangup.HangupRecorder;
import io.github.hangup.server.InboundScope;
import io.github.hangup.server.TestScopes;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.reactivestreams.Subscription;
import reactor.core.CoreSubscriber;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;

import org.springframework.http.HttpMethod;
import org.springframework.http.HttpStatus;
import org.springframework.web.reactive.function.client.ClientRequest;
import org.springframework.web.reactive.function.client.ClientResponse;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The call's transitions under racing threads, started together by a barrier and
 * repeated: a cancel racing the client leaving is counted exactly once, and a cancel
 * racing the response gets the phase of whichever came first.
 */
class OutboundCallRaceTests {

	private static final int ROUNDS = 20_000;

	private final ExecutorService threads = Executors.newFixedThreadPool(2);

	@AfterEach
	void stop() {
		this.threads.shutdownNow();
	}

	@ParameterizedTest(name = "stop with client: {0}")
	@ValueSource(booleans = { true, false })
	void cancelRacingTheClientLeavingIsCountedExactlyOnce(boolean stopWithClient) throws Exception {
		CyclicBarrier barrier = new CyclicBarrier(2);
		for (int round = 0; round < ROUNDS; round++) {
			List<HangupEvent> events = new CopyOnWriteArrayList<>();
			InboundScope scope = new InboundScope();
			Downstream downstream = new Downstream();
			OutboundCall call = call(events, scope, stopWithClient);
			call.start(request(), (request) -> Mono.never(), Duration.ZERO, downstream);
			Future<?> cancel = this.threads.submit(() -> {
				await(barrier);
				downstream.subscription.cancel();
			});
			Future<?> leave = this.threads.submit(() -> {
				await(barrier);
				// What the server side does when its client goes away.
				TestScopes.clientLeft(scope);
			});
			cancel.get();
			leave.get();
			assertThat(events).as("round %d", round)
				.singleElement()
				.satisfies((event) -> assertThat(event.kind()).isEqualTo(HangupKind.CLIENT_CANCEL));
			assertThat(TestScopes.participants(scope)).as("round %d", round).isZero();
		}
	}

	@Test
	void cancelRacingTheResponseGetsThePhaseOfWhicheverCameFirst() throws Exception {
		CyclicBarrier barrier = new CyclicBarrier(2);
		ClientResponse response = ClientResponse.create(HttpStatus.OK).build();
		int during = 0;
		for (int round = 0; round < ROUNDS; round++) {
			List<HangupEvent> events = new CopyOnWriteArrayList<>();
			InboundScope scope = new InboundScope();
			TestScopes.clientGone(scope);
			Downstream downstream = new Downstream();
			Sinks.One<ClientResponse> headers = Sinks.one();
			OutboundCall call = call(events, scope, false);
			call.start(request(), (request) -> headers.asMono(), Duration.ZERO, downstream);
			Future<?> respond = this.threads.submit(() -> {
				await(barrier);
				headers.tryEmitValue(response);
			});
			Future<?> cancel = this.threads.submit(() -> {
				await(barrier);
				downstream.subscription.cancel();
			});
			respond.get();
			cancel.get();
			HangupPhase expected = (downstream.received.get() == 1) ? HangupPhase.DURING_RESPONSE
					: HangupPhase.BEFORE_RESPONSE;
			during += (expected == HangupPhase.DURING_RESPONSE) ? 1 : 0;
			assertThat(events).as("round %d", round)
				.singleElement()
				.satisfies((event) -> assertThat(event.phase()).isEqualTo(expected));
		}
		// Both orders happened, or the race was not exercised.
		assertThat(during).isBetween(1, ROUNDS - 1);
	}

	private static OutboundCall call(List<HangupEvent> events, InboundScope scope, boolean stopWithClient) {
		return new OutboundCall(new DefaultHangupClassifier(), HangupRecorder.of(events::add), "GET", "upstream:80",
				scope, stopWithClient, new OutboundCalls());
	}

	private static ClientRequest request() {
		return ClientRequest.create(HttpMethod.GET, URI.create("http://upstream/")).build();
	}

	private static void await(CyclicBarrier barrier) {
		try {
			barrier.await();
		}
		catch (Exception ex) {
			throw new IllegalStateException(ex);
		}
	}

	/**
	 * Requests the response and keeps its subscription; counts responses received.
	 */
	static final class Downstream implements CoreSubscriber<ClientResponse> {

		volatile Subscription subscription;

		final AtomicInteger received = new AtomicInteger();

		@Override
		public void onSubscribe(Subscription subscription) {
			this.subscription = subscription;
			subscription.request(1);
		}

		@Override
		public void onNext(ClientResponse response) {
			this.received.incrementAndGet();
		}

		@Override
		public void onError(Throwable error) {
		}

		@Override
		public void onComplete() {
		}

	}

}
