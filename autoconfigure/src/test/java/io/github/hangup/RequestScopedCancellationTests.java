package io.github.hangup;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

import io.github.hangup.client.HangupClientAttributes;
import io.github.hangup.client.OutboundCalls;
import io.github.hangup.metrics.HangupMetrics;
import io.github.hangup.server.HangupWebFilter;
import io.github.hangup.support.FaultyUpstream;
import io.github.hangup.support.FullBacklog;
import io.github.hangup.support.HangupMeters;
import io.github.hangup.support.RawHttpClient;
import io.github.hangup.support.TestApps;
import io.micrometer.core.instrument.MeterRegistry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.netty.http.client.HttpClient;
import reactor.netty.resources.ConnectionProvider;

import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.core.env.Environment;
import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.core.io.buffer.DefaultDataBufferFactory;
import org.springframework.http.client.reactive.ReactorClientHttpConnector;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.reactive.function.client.WebClient;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * When the inbound client leaves, every outbound call made for it stops, in the chain or
 * not; the upstream observes each cancel and the counts are exact.
 */
class RequestScopedCancellationTests {

	private FaultyUpstream upstream;

	private ConfigurableApplicationContext proxy;

	private MeterRegistry registry;

	private int port;

	@BeforeEach
	void start() throws Exception {
		this.upstream = new FaultyUpstream();
		this.proxy = startProxy(this.upstream, "REQUEST");
		this.registry = this.proxy.getBean(MeterRegistry.class);
		this.port = TestApps.port(this.proxy);
	}

	@AfterEach
	void stop() throws Exception {
		this.proxy.close();
		this.upstream.close();
	}

	@ParameterizedTest(name = "call made through {0} is cancelled when the client leaves")
	@ValueSource(strings = { "/mono", "/future", "/detached", "/cache" })
	void callIsCancelledWhenClientLeaves(String route) throws Exception {
		leaveDuring(route, "/hang", 1);
		this.upstream.awaitPeerClosed("/hang", 1);
		assertCancels(route, "BEFORE_RESPONSE", 1, 1);
	}

	@Test
	void inChainStreamingCallIsCancelledWhenClientLeavesMidStream() throws Exception {
		try (RawHttpClient client = new RawHttpClient(this.port, Duration.ofSeconds(10))) {
			assertThat(client.send("GET", "/flux").readHead().status()).isEqualTo(200);
			assertThat(new String(client.readBytes(11), StandardCharsets.US_ASCII)).isEqualTo("6\r\nchunk\n\r\n");
		}
		this.upstream.awaitPeerClosed("/stream", 1);
		assertCancels("/flux", "DURING_RESPONSE", 1, 1);
	}

	@Test
	void bothCallsOfAZipAreCancelledWhenClientLeaves() throws Exception {
		leaveDuring("/zip", "/hang", 2);
		this.upstream.awaitPeerClosed("/hang", 2);
		assertCancels("/zip", "BEFORE_RESPONSE", 1, 2);
	}

	@Test
	void callUploadingALargeStreamedBodyIsCancelledWhenClientLeaves() throws Exception {
		leaveDuring("/upload", "/hang", 1);
		this.upstream.awaitPeerClosed("/hang", 1);
		HangupMeters.awaitCounts(this.registry, HangupMetrics.SERVER_HANGUPS,
				Map.of("kind=CLIENT_CANCEL,method=GET,phase=BEFORE_RESPONSE,uri=/upload", 1L));
		HangupMeters.awaitClientHangups(this.registry, Map
			.of("kind=CLIENT_CANCEL,method=POST,phase=BEFORE_RESPONSE,upstream=127.0.0.1:" + this.upstream.port(), 1L));
		assertBootCounts(1, 1, false);
		awaitNothingInFlight();
	}

	@Test
	void callQueuedBehindABusyPoolIsCancelledWithoutReachingTheUpstream() throws Exception {
		try (RawHttpClient first = new RawHttpClient(this.port, Duration.ofSeconds(10))) {
			first.send("GET", "/pool");
			this.upstream.awaitReceived("/hang", 1);
			try (RawHttpClient second = new RawHttpClient(this.port, Duration.ofSeconds(10))) {
				second.send("GET", "/pool");
				// The second call waits for the only pooled connection.
				await().atMost(Duration.ofSeconds(10)).until(() -> inFlight() == 2);
			}
			HangupMeters.awaitClientHangups(this.registry, Map.of(
					"kind=CLIENT_CANCEL,method=GET,phase=BEFORE_RESPONSE,upstream=127.0.0.1:" + this.upstream.port(),
					1L));
			assertThat(inFlight()).isEqualTo(1);
		}
		this.upstream.awaitPeerClosed("/hang", 1);
		assertCancels("/pool", "BEFORE_RESPONSE", 2, 2);
		assertThat(this.upstream.received("/hang")).isEqualTo(1);
	}

	@Test
	void callStillConnectingIsCancelledWhenClientLeaves() throws Exception {
		try (FullBacklog backlog = new FullBacklog()) {
			ProxyController controller = this.proxy.getBean(ProxyController.class);
			controller.connectingPort = backlog.port();
			try (RawHttpClient client = new RawHttpClient(this.port, Duration.ofSeconds(10))) {
				client.send("GET", "/connecting");
				// The upstream drops the SYN: the call waits in its connect.
				await().atMost(Duration.ofSeconds(10)).until(() -> inFlight() == 1);
			}
			HangupMeters.awaitCounts(this.registry, HangupMetrics.SERVER_HANGUPS,
					Map.of("kind=CLIENT_CANCEL,method=GET,phase=BEFORE_RESPONSE,uri=/connecting", 1L));
			HangupMeters.awaitClientHangups(this.registry, Map
				.of("kind=CLIENT_CANCEL,method=GET,phase=BEFORE_RESPONSE,upstream=127.0.0.1:" + backlog.port(), 1L));
			assertBootCounts(1, 1, false);
			awaitNothingInFlight();
		}
	}

	@Test
	void optedOutCallCompletesAfterClientLeft() throws Exception {
		ProxyController controller = this.proxy.getBean(ProxyController.class);
		leaveDuring("/opt-out", "/gate", 1);
		HangupMeters.awaitCounts(this.registry, HangupMetrics.SERVER_HANGUPS,
				Map.of("kind=CLIENT_CANCEL,method=GET,phase=BEFORE_RESPONSE,uri=/opt-out", 1L));
		assertThat(inFlight()).isEqualTo(1);
		this.upstream.openGate();
		await().atMost(Duration.ofSeconds(10)).until(() -> controller.completed.get() == 1);
		assertThat(this.upstream.answered("/gate")).isEqualTo(1);
		assertThat(HangupMeters.counts(this.registry, HangupMetrics.CLIENT_HANGUPS)).isEmpty();
		awaitNothingInFlight();
	}

	@Test
	void chainModeLetsADetachedCallRunOnAsReactorDoesByDefault() throws Exception {
		try (FaultyUpstream chainUpstream = new FaultyUpstream();
				ConfigurableApplicationContext chainProxy = startProxy(chainUpstream, "CHAIN")) {
			MeterRegistry chainRegistry = chainProxy.getBean(MeterRegistry.class);
			ProxyController controller = chainProxy.getBean(ProxyController.class);
			try (RawHttpClient client = new RawHttpClient(TestApps.port(chainProxy), Duration.ofSeconds(10))) {
				client.send("GET", "/detached-gate");
				chainUpstream.awaitReceived("/gate", 1);
			}
			HangupMeters.awaitCounts(chainRegistry, HangupMetrics.SERVER_HANGUPS,
					Map.of("kind=CLIENT_CANCEL,method=GET,phase=BEFORE_RESPONSE,uri=/detached-gate", 1L));
			// In REQUEST mode the call would have been stopped before the cancel was
			// recorded.
			assertThat(chainProxy.getBean(OutboundCalls.class).inFlight()).isEqualTo(1);
			assertThat(chainUpstream.peerClosed("/gate")).isZero();
			chainUpstream.openGate();
			await().atMost(Duration.ofSeconds(10)).until(() -> controller.completed.get() == 1);
			assertThat(chainUpstream.answered("/gate")).isEqualTo(1);
			assertThat(HangupMeters.counts(chainRegistry, HangupMetrics.CLIENT_HANGUPS)).isEmpty();
		}
	}

	@Test
	void offModeLeavesOutboundCancelsUnattributed() throws Exception {
		try (FaultyUpstream offUpstream = new FaultyUpstream();
				ConfigurableApplicationContext offProxy = startProxy(offUpstream, "OFF")) {
			MeterRegistry offRegistry = offProxy.getBean(MeterRegistry.class);
			try (RawHttpClient client = new RawHttpClient(TestApps.port(offProxy), Duration.ofSeconds(10))) {
				client.send("GET", "/mono");
				offUpstream.awaitReceived("/hang", 1);
			}
			// Reactor still cancels the call in the chain; it is just not counted as a
			// hang-up.
			offUpstream.awaitPeerClosed("/hang", 1);
			HangupMeters.awaitCounts(offRegistry, HangupMetrics.SERVER_HANGUPS,
					Map.of("kind=CLIENT_CANCEL,method=GET,phase=BEFORE_RESPONSE,uri=/mono", 1L));
			await().atMost(Duration.ofSeconds(10)).until(() -> offProxy.getBean(OutboundCalls.class).inFlight() == 0);
			assertThat(HangupMeters.counts(offRegistry, HangupMetrics.CLIENT_HANGUPS)).isEmpty();
		}
	}

	@Test
	void requestModeStopsTheSameDetachedCall() throws Exception {
		leaveDuring("/detached-gate", "/gate", 1);
		this.upstream.awaitPeerClosed("/gate", 1);
		assertCancels("/detached-gate", "BEFORE_RESPONSE", 1, 1);
		assertThat(this.proxy.getBean(ProxyController.class).completed.get()).isZero();
	}

	@Test
	void aThousandSequentialCancelsLeaveNothingInFlight() throws Exception {
		int cancels = 1000;
		for (int i = 1; i <= cancels; i++) {
			leaveDuring("/mono", "/hang", i);
		}
		this.upstream.awaitPeerClosed("/hang", cancels);
		assertCancels("/mono", "BEFORE_RESPONSE", cancels, cancels);
	}

	private void leaveDuring(String path, String upstreamPath, int expectedReceived) throws Exception {
		try (RawHttpClient client = new RawHttpClient(this.port, Duration.ofSeconds(10))) {
			client.send("GET", path);
			this.upstream.awaitReceived(upstreamPath, expectedReceived);
		}
	}

	private void assertCancels(String route, String phase, int inbound, int outbound) {
		HangupMeters.awaitCounts(this.registry, HangupMetrics.SERVER_HANGUPS,
				Map.of("kind=CLIENT_CANCEL,method=GET,phase=" + phase + ",uri=" + route, (long) inbound));
		HangupMeters.awaitClientHangups(this.registry,
				Map.of("kind=CLIENT_CANCEL,method=GET,phase=" + phase + ",upstream=127.0.0.1:" + this.upstream.port(),
						(long) outbound));
		assertBootCounts(inbound, outbound, phase.equals("DURING_RESPONSE"));
		awaitNothingInFlight();
	}

	/**
	 * One sample per request and per call on Boot's own meters. WebClient ends a call's
	 * observation when the response headers arrive: a call cut in its body was observed
	 * without a hang-up.
	 */
	private void assertBootCounts(int inbound, int outbound, boolean cutInBody) {
		HangupMeters.awaitCounts(this.registry, "http.server.requests", Map.of("hangup=CLIENT_CANCEL", (long) inbound),
				"hangup");
		HangupMeters.awaitCounts(this.registry, "http.client.requests",
				Map.of(cutInBody ? "hangup=NONE" : "hangup=CLIENT_CANCEL", (long) outbound), "hangup");
	}

	private void awaitNothingInFlight() {
		await().atMost(Duration.ofSeconds(10)).until(() -> inFlight() == 0);
		await().atMost(Duration.ofSeconds(10)).until(() -> this.proxy.getBean(HangupWebFilter.class).openScopes() == 0);
		assertThat(this.registry.get(HangupMetrics.CLIENT_CALLS_ACTIVE).gauge().value()).isZero();
		assertThat(this.registry.get(HangupMetrics.SERVER_SCOPES_ACTIVE).gauge().value()).isZero();
	}

	private int inFlight() {
		return this.proxy.getBean(OutboundCalls.class).inFlight();
	}

	private static ConfigurableApplicationContext startProxy(FaultyUpstream upstream, String mode) {
		return TestApps.start(ProxyController.class, "test.upstream=" + upstream.baseUrl(),
				"hangup.propagation.mode=" + mode);
	}

	/**
	 * Handlers that call the upstream in the ways real services do, in the chain and out
	 * of it.
	 */
	@RestController
	static class ProxyController {

		final AtomicInteger completed = new AtomicInteger();

		volatile int connectingPort;

		private final WebClient webClient;

		private final WebClient singleConnection;

		ProxyController(WebClient.Builder builder, Environment environment) {
			String upstream = environment.getRequiredProperty("test.upstream");
			this.webClient = builder.clone().baseUrl(upstream).build();
			HttpClient pooled = HttpClient.create(ConnectionProvider.builder("single").maxConnections(1).build());
			this.singleConnection = builder.clone()
				.baseUrl(upstream)
				.clientConnector(new ReactorClientHttpConnector(pooled))
				.build();
		}

		@GetMapping("/mono")
		Mono<String> mono() {
			return hang();
		}

		@GetMapping("/flux")
		Flux<DataBuffer> flux() {
			return this.webClient.get().uri("/stream").retrieve().bodyToFlux(DataBuffer.class);
		}

		@GetMapping("/future")
		Mono<String> future() {
			return Mono.fromFuture(hang().toFuture().thenApply(String::toUpperCase));
		}

		@GetMapping("/detached")
		Mono<String> detached() {
			hang().subscribe();
			return Mono.never();
		}

		@GetMapping("/cache")
		Mono<String> cache() {
			return hang().cache();
		}

		@GetMapping("/zip")
		Mono<String> zip() {
			return Mono.zip(hang(), hang(), (a, b) -> a + b);
		}

		@GetMapping("/upload")
		Mono<String> upload() {
			DefaultDataBufferFactory buffers = DefaultDataBufferFactory.sharedInstance;
			// Endless: the upload is still running when the client leaves.
			Flux<DataBuffer> body = Flux.interval(Duration.ofMillis(1)).map((i) -> buffers.wrap(new byte[16 * 1024]));
			return this.webClient.post().uri("/hang").body(body, DataBuffer.class).retrieve().bodyToMono(String.class);
		}

		@GetMapping("/pool")
		Mono<String> pool() {
			return this.singleConnection.get().uri("/hang").retrieve().bodyToMono(String.class);
		}

		@GetMapping("/connecting")
		Mono<String> connecting() {
			return this.webClient.get()
				.uri("http://127.0.0.1:" + this.connectingPort + "/")
				.retrieve()
				.bodyToMono(String.class);
		}

		@GetMapping("/opt-out")
		Mono<String> optOut() {
			gate(HangupClientAttributes.detached()).subscribe((body) -> this.completed.incrementAndGet());
			return Mono.never();
		}

		@GetMapping("/detached-gate")
		Mono<String> detachedGate() {
			gate((attributes) -> {
			}).subscribe((body) -> this.completed.incrementAndGet());
			return Mono.never();
		}

		private Mono<String> hang() {
			return this.webClient.get().uri("/hang").retrieve().bodyToMono(String.class);
		}

		private Mono<String> gate(Consumer<Map<String, Object>> attributes) {
			return this.webClient.get().uri("/gate").attributes(attributes).retrieve().bodyToMono(String.class);
		}

	}

}
