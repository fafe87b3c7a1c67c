package io.github.hangup;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import io.github.hangup.client.OutboundCalls;
import io.github.hangup.metrics.HangupMetrics;
import io.github.hangup.server.HangupWebFilter;
import io.github.hangup.support.HangupMeters;
import io.github.hangup.support.ProxyUnderTest;
import io.github.hangup.support.RawHttpClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import reactor.core.publisher.Mono;
import reactor.netty.http.client.HttpClient;
import reactor.netty.resources.ConnectionProvider;

import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.core.env.Environment;
import org.springframework.http.client.reactive.ReactorClientHttpConnector;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.reactive.function.client.WebClient;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A call stopped because its client left releases whoever waits on it: a thread blocked
 * on it, a future, a detached subscriber; with an exception that says the client left,
 * and without an ERROR line.
 */
@ExtendWith(OutputCaptureExtension.class)
class StoppedCallReleaseTests {

	private static final int CALLS = 100;

	private ProxyUnderTest app;

	@BeforeEach
	void start() throws Exception {
		this.app = ProxyUnderTest.start(BlockingController.class);
	}

	@AfterEach
	void stop() throws Exception {
		this.app.proxy().getBean(BlockingController.class).executor.shutdownNow();
		this.app.close();
	}

	@Test
	void blockedThreadsAndFuturesOfStoppedCallsAllEndWithClientCancelException(CapturedOutput output) throws Exception {
		BlockingController controller = this.app.proxy().getBean(BlockingController.class);
		leaveDuring("/blocking-and-futures", 2 * CALLS);
		this.app.upstream().awaitPeerClosed("/hang", 2 * CALLS);
		await().atMost(Duration.ofSeconds(5)).until(() -> controller.blockedEnded.size() == CALLS);
		await().atMost(Duration.ofSeconds(5))
			.until(() -> controller.futures.stream().allMatch(CompletableFuture::isDone));
		assertThat(controller.blockedEnded).hasSize(CALLS)
			.allSatisfy((error) -> assertThat(error).isInstanceOf(ClientCancelException.class)
				.satisfies((ex) -> assertThat(((HangupException) ex).getKind()).isEqualTo(HangupKind.CLIENT_CANCEL)));
		assertThat(controller.futures).hasSize(CALLS)
			.allSatisfy((future) -> assertThat(future).failsWithin(Duration.ZERO)
				.withThrowableOfType(java.util.concurrent.ExecutionException.class)
				.withCauseInstanceOf(ClientCancelException.class));
		assertThat(controller.executor.shutdownNow()).isEmpty();
		controller.executor.awaitTermination(5, TimeUnit.SECONDS);
		assertThat(controller.executor.isTerminated()).isTrue();
		HangupMeters.awaitClientHangups(this.app.registry(), Map.of(
				"kind=CLIENT_CANCEL,method=GET,phase=BEFORE_RESPONSE,upstream=127.0.0.1:" + this.app.upstream().port(),
				(long) 2 * CALLS));
		HangupMeters.awaitCounts(this.app.registry(), HangupMetrics.SERVER_HANGUPS,
				Map.of("kind=CLIENT_CANCEL,method=GET,phase=BEFORE_RESPONSE,uri=/blocking-and-futures", 1L));
		HangupMeters.awaitCounts(this.app.registry(), "http.client.requests",
				Map.of("hangup=CLIENT_CANCEL", (long) 2 * CALLS), "hangup");
		awaitNothingInFlight();
		assertThat(output.getOut() + output.getErr()).doesNotContain("ERROR").doesNotContain("onErrorDropped");
	}

	@Test
	void bareSubscribeOfAStoppedCallLogsNoError(CapturedOutput output) throws Exception {
		leaveDuring("/bare-subscribe", 1);
		this.app.upstream().awaitPeerClosed("/hang", 1);
		HangupMeters.awaitClientHangups(this.app.registry(), Map.of(
				"kind=CLIENT_CANCEL,method=GET,phase=BEFORE_RESPONSE,upstream=127.0.0.1:" + this.app.upstream().port(),
				1L));
		HangupMeters.awaitCounts(this.app.registry(), "http.client.requests", Map.of("hangup=CLIENT_CANCEL", 1L),
				"hangup");
		awaitNothingInFlight();
		assertThat(output.getOut() + output.getErr()).doesNotContain("ERROR")
			.doesNotContain("onErrorDropped")
			.doesNotContain("ErrorCallbackNotImplemented");
	}

	@Test
	void detachedStreamingBodyStoppedMidBodyEndsItsReaderAndIsObservedOnce() throws Exception {
		BlockingController controller = this.app.proxy().getBean(BlockingController.class);
		leaveDuring("/detached-stream", 1);
		this.app.upstream().awaitPeerClosed("/stream", 1);
		await().atMost(Duration.ofSeconds(5)).until(() -> controller.streamEnded.size() == 1);
		// retrieve() wraps errors of the body in a WebClientResponseException.
		assertThat(controller.streamEnded.peek()).cause()
			.isInstanceOf(ClientCancelException.class)
			.satisfies((ex) -> assertThat(((HangupException) ex).getPhase()).isEqualTo(HangupPhase.DURING_RESPONSE));
		HangupMeters.awaitClientHangups(this.app.registry(), Map.of(
				"kind=CLIENT_CANCEL,method=GET,phase=DURING_RESPONSE,upstream=127.0.0.1:" + this.app.upstream().port(),
				1L));
		// WebClient ends its observation with the response headers, before the body was
		// cut.
		HangupMeters.awaitCounts(this.app.registry(), "http.client.requests", Map.of("hangup=NONE", 1L), "hangup");
		awaitNothingInFlight();
	}

	private void leaveDuring(String path, int upstreamCalls) throws Exception {
		try (RawHttpClient client = new RawHttpClient(this.app.port(), Duration.ofSeconds(10))) {
			client.send("GET", path);
			this.app.upstream().awaitReceived(path.equals("/detached-stream") ? "/stream" : "/hang", upstreamCalls);
			if (path.equals("/detached-stream")) {
				// Mid-body: the first chunk reached the reader before the client leaves.
				BlockingController controller = this.app.proxy().getBean(BlockingController.class);
				await().atMost(Duration.ofSeconds(5)).until(() -> controller.streamStarted.get() == 1);
			}
		}
	}

	private void awaitNothingInFlight() {
		await().atMost(Duration.ofSeconds(10))
			.until(() -> this.app.proxy().getBean(OutboundCalls.class).inFlight() == 0);
		await().atMost(Duration.ofSeconds(10))
			.until(() -> this.app.proxy().getBean(HangupWebFilter.class).openScopes() == 0);
	}

	/**
	 * Handlers that leave their calls outside the request's chain: threads blocked on
	 * them, futures, a bare subscribe.
	 */
	@RestController
	static class BlockingController {

		final ExecutorService executor = Executors.newFixedThreadPool(CALLS);

		final Queue<Throwable> blockedEnded = new ConcurrentLinkedQueue<>();

		final List<CompletableFuture<String>> futures = new java.util.concurrent.CopyOnWriteArrayList<>();

		final Queue<Throwable> streamEnded = new ConcurrentLinkedQueue<>();

		final AtomicInteger streamStarted = new AtomicInteger();

		private final WebClient webClient;

		BlockingController(WebClient.Builder builder, Environment environment) {
			ConnectionProvider pool = ConnectionProvider.builder("release")
				.maxConnections(4 * CALLS)
				.pendingAcquireMaxCount(-1)
				.build();
			this.webClient = builder.clone()
				.baseUrl(environment.getRequiredProperty("test.upstream"))
				.clientConnector(new ReactorClientHttpConnector(HttpClient.create(pool)))
				.build();
		}

		@GetMapping("/blocking-and-futures")
		Mono<String> blockingAndFutures() {
			for (int i = 0; i < CALLS; i++) {
				// Built on the request's thread, where it finds the request's scope.
				Mono<String> call = hang();
				this.executor.execute(() -> {
					try {
						call.block();
					}
					catch (Throwable ex) {
						this.blockedEnded.add(ex);
					}
				});
				this.futures.add(hang().toFuture());
			}
			return Mono.never();
		}

		@GetMapping("/bare-subscribe")
		Mono<String> bareSubscribe() {
			hang().subscribe();
			return Mono.never();
		}

		@GetMapping("/detached-stream")
		Mono<String> detachedStream() {
			this.webClient.get()
				.uri("/stream")
				.retrieve()
				.bodyToFlux(String.class)
				.subscribe((chunk) -> this.streamStarted.incrementAndGet(), this.streamEnded::add);
			return Mono.never();
		}

		private Mono<String> hang() {
			return this.webClient.get().uri("/hang").retrieve().bodyToMono(String.class);
		}

	}

}
