package io.github.hangup;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

import io.github.hangup.metrics.HangupMetrics;
import io.github.hangup.support.FaultyUpstream;
import io.github.hangup.support.HangupMeters;
import io.github.hangup.support.RawHttpClient;
import io.github.hangup.support.TestApps;
import io.micrometer.core.instrument.MeterRegistry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;

import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.core.env.Environment;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.reactive.function.client.WebClient;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * One outbound call that several requests wait on: the client of the request that made it
 * leaves, the others are still there. They never get a {@code 200} with an empty body,
 * and never count as their own client leaving.
 */
@ExtendWith(OutputCaptureExtension.class)
class SharedCallTests {

	private static final Duration READ = Duration.ofSeconds(10);

	private FaultyUpstream upstream;

	private ConfigurableApplicationContext proxy;

	private MeterRegistry registry;

	private int port;

	@BeforeEach
	void start() throws Exception {
		this.upstream = new FaultyUpstream();
		this.proxy = TestApps.start(SharingController.class, "test.upstream=" + this.upstream.baseUrl());
		this.registry = this.proxy.getBean(MeterRegistry.class);
		this.port = TestApps.port(this.proxy);
	}

	@AfterEach
	void stop() throws Exception {
		this.proxy.close();
		this.upstream.close();
	}

	@Test
	void aCachedCallRunsOnForTheRequestsStillWaitingWhenTheClientThatStartedItLeaves() throws Exception {
		SharingController controller = this.proxy.getBean(SharingController.class);
		RawHttpClient first = new RawHttpClient(this.port, READ).send("GET", "/cached", "Connection: close");
		this.upstream.awaitReceived("/gate", 1);
		try (RawHttpClient second = new RawHttpClient(this.port, READ);
				RawHttpClient third = new RawHttpClient(this.port, READ)) {
			second.send("GET", "/cached", "Connection: close");
			third.send("GET", "/cached", "Connection: close");
			await().atMost(READ).until(() -> controller.subscribed.get() == 3);
			first.close();
			HangupMeters.awaitCounts(this.registry, HangupMetrics.SERVER_HANGUPS,
					Map.of("kind=CLIENT_CANCEL,method=GET,phase=BEFORE_RESPONSE,uri=/cached", 1L));
			this.upstream.openGate();
			assertAnswered(second, "gate");
			assertAnswered(third, "gate");
		}
		try (RawHttpClient later = new RawHttpClient(this.port, READ)) {
			assertAnswered(later.send("GET", "/cached", "Connection: close"), "gate");
		}
		assertThat(this.upstream.received("/gate")).isEqualTo(1);
		assertThat(this.upstream.peerClosed("/gate")).isZero();
		HangupMeters.awaitCounts(this.registry, HangupMetrics.SERVER_HANGUPS,
				Map.of("kind=CLIENT_CANCEL,method=GET,phase=BEFORE_RESPONSE,uri=/cached", 1L));
		HangupMeters.awaitClientHangups(this.registry, Map.of());
		HangupMeters.awaitCounts(this.registry, "http.server.requests",
				Map.of("hangup=CLIENT_CANCEL,status=UNKNOWN", 1L, "hangup=NONE,status=200", 3L), "hangup", "status");
	}

	@Test
	void aStoppedCallSharedThroughASinkIsAnsweredHonestlyToTheRequestsStillWaiting(CapturedOutput output)
			throws Exception {
		SharingController controller = this.proxy.getBean(SharingController.class);
		RawHttpClient first = new RawHttpClient(this.port, READ).send("GET", "/sink", "Connection: close");
		this.upstream.awaitReceived("/hang", 1);
		try (RawHttpClient second = new RawHttpClient(this.port, READ);
				RawHttpClient third = new RawHttpClient(this.port, READ)) {
			second.send("GET", "/sink", "Connection: close");
			third.send("GET", "/sink", "Connection: close");
			await().atMost(READ).until(() -> controller.subscribed.get() == 3);
			first.close();
			this.upstream.awaitPeerClosed("/hang", 1);
			for (RawHttpClient waiting : new RawHttpClient[] { second, third }) {
				RawHttpClient.Head head = waiting.readHead();
				assertThat(head.status()).isEqualTo(503);
				assertThat(head.header("Content-Type")).isEqualTo("application/problem+json");
				assertThat(waiting.readRest().text()).contains("\"hangup\":\"CLIENT_CANCEL\"")
					.contains("shared with another request")
					.doesNotContain("127.0.0.1");
			}
		}
		HangupMeters.awaitCounts(this.registry, HangupMetrics.SERVER_HANGUPS,
				Map.of("kind=CLIENT_CANCEL,method=GET,phase=BEFORE_RESPONSE,uri=/sink", 1L));
		HangupMeters.awaitClientHangups(this.registry, Map
			.of("kind=CLIENT_CANCEL,method=GET,phase=BEFORE_RESPONSE,upstream=127.0.0.1:" + this.upstream.port(), 1L));
		HangupMeters.awaitCounts(this.registry, "http.server.requests",
				Map.of("hangup=CLIENT_CANCEL,status=UNKNOWN", 1L, "hangup=NONE,status=503", 2L), "hangup", "status");
		assertThat(output.getOut().split("was shared with another request", -1)).hasSize(2);
	}

	private static void assertAnswered(RawHttpClient client, String body) throws Exception {
		assertThat(client.readHead().status()).isEqualTo(200);
		assertThat(client.readRest().text()).isEqualTo(body);
	}

	/**
	 * Calls shared across requests by key, as token, config or price caches are.
	 */
	@RestController
	static class SharingController {

		final AtomicInteger subscribed = new AtomicInteger();

		private final Map<String, Mono<String>> cached = new ConcurrentHashMap<>();

		private final Map<String, Sinks.One<String>> sinks = new ConcurrentHashMap<>();

		private final WebClient webClient;

		SharingController(WebClient.Builder builder, Environment environment) {
			this.webClient = builder.baseUrl(environment.getRequiredProperty("test.upstream")).build();
		}

		@GetMapping("/cached")
		Mono<String> cached() {
			return this.cached
				.computeIfAbsent("key",
						(key) -> this.webClient.get().uri("/gate").retrieve().bodyToMono(String.class).cache())
				.doOnSubscribe((subscription) -> this.subscribed.incrementAndGet());
		}

		@GetMapping("/sink")
		Mono<String> sink() {
			Sinks.One<String> sink = this.sinks.computeIfAbsent("key", (key) -> {
				Sinks.One<String> created = Sinks.one();
				this.webClient.get()
					.uri("/hang")
					.retrieve()
					.bodyToMono(String.class)
					.subscribe(created::tryEmitValue, created::tryEmitError);
				return created;
			});
			return sink.asMono().doOnSubscribe((subscription) -> this.subscribed.incrementAndGet());
		}

	}

}
