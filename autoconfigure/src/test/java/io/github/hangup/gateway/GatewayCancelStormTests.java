package io.github.hangup.gateway;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import io.github.hangup.client.OutboundCalls;
import io.github.hangup.metrics.HangupMetrics;
import io.github.hangup.server.HangupWebFilter;
import io.github.hangup.support.FaultyUpstream;
import io.github.hangup.support.GatewayApps;
import io.github.hangup.support.HangupMeters;
import io.github.hangup.support.RawHttpClient;
import io.github.hangup.support.RawHttpClient.Head;
import io.github.hangup.support.TestApps;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Metrics;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.context.ConfigurableApplicationContext;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Exchanges through a real Gateway cancelled at every point (before the response, just
 * after the upstream's response arrived, in the middle of a body, during server-sent
 * events, by a close or a reset) under Netty's paranoid leak detection (set for the
 * gateway tests' execution): nothing leaks, Reactor Netty's pool gives every connection
 * back, nothing is left in flight, and every cancel is counted exactly once on every
 * meter.
 */
@Tag("gateway")
@ExtendWith(OutputCaptureExtension.class)
class GatewayCancelStormTests {

	private static final Duration READ_TIMEOUT = Duration.ofSeconds(10);

	private static final int REQUESTS = 240;

	private static final int SCENARIOS = 6;

	private static final AtomicInteger ids = new AtomicInteger();

	private static final Object HANG = new Object();

	private static FaultyUpstream upstream;

	private static ConfigurableApplicationContext gateway;

	private static MeterRegistry registry;

	private static int port;

	@BeforeAll
	static void start() throws Exception {
		upstream = new FaultyUpstream();
		String target = upstream.baseUrl();
		gateway = GatewayApps.start(RoutingConfigurations.HoldAfterResponse.class,
				List.of("held|" + target + "|Path=/held/**|StripPrefix=1|", "faulty|" + target + "|Path=/**||"),
				"spring.cloud.gateway.server.webflux.httpclient.pool.metrics=true");
		registry = gateway.getBean(MeterRegistry.class);
		port = TestApps.port(gateway);
	}

	@AfterAll
	static void stop() throws Exception {
		gateway.close();
		upstream.close();
	}

	@BeforeEach
	void clearMeters() {
		registry.clear();
	}

	@Test
	void leakDetectionIsParanoid() {
		assertThat(io.netty.util.ResourceLeakDetector.getLevel())
			.isEqualTo(io.netty.util.ResourceLeakDetector.Level.PARANOID);
	}

	@Test
	void clientLeavingJustAfterTheUpstreamResponseArrivedIsCountedOnceAndGivesTheConnectionBack() throws Exception {
		cancelAfterResponseArrived();
		HangupMeters.awaitCounts(registry, HangupMetrics.SERVER_HANGUPS,
				Map.of("kind=CLIENT_CANCEL,method=GET,phase=BEFORE_RESPONSE,uri=UNKNOWN", 1L));
		// The upstream had answered: for the call, the client left during its response.
		HangupMeters.awaitClientHangups(registry,
				Map.of("kind=CLIENT_CANCEL,method=GET,phase=DURING_RESPONSE,upstream=held", 1L));
		HangupMeters.awaitCounts(registry, "http.server.requests", Map.of("hangup=CLIENT_CANCEL", 1L), "hangup");
		// Gateway closes the connection, or gives it back to the pool when the unread
		// body had arrived in full: either way nothing stays acquired, and the next call
		// is answered.
		awaitNothingInFlight();
		try (RawHttpClient client = new RawHttpClient(port, READ_TIMEOUT)) {
			assertThat(client.send("GET", "/held/ok").readHead().status()).isEqualTo(200);
			assertThat(new String(client.readBytes(5))).isEqualTo("hello");
		}
		// Its observation ends once the server completed the response, which may be after
		// the client read it: recorded here, it cannot land in the next test's meters.
		HangupMeters.awaitCounts(registry, "http.server.requests",
				Map.of("hangup=CLIENT_CANCEL", 1L, "hangup=NONE", 1L), "hangup");
	}

	@Test
	void exchangesCancelledAtEveryPointLeakNothingLeaveNothingInFlightAndAreEachCountedOnce(CapturedOutput output)
			throws Exception {
		ExecutorService clients = Executors.newFixedThreadPool(12);
		List<Future<?>> done = new ArrayList<>();
		for (int i = 0; i < REQUESTS; i++) {
			int scenario = i % SCENARIOS;
			done.add(clients.submit(() -> {
				run(scenario);
				return null;
			}));
		}
		for (Future<?> future : done) {
			future.get(60, TimeUnit.SECONDS);
		}
		clients.shutdown();
		awaitNothingInFlight();
		int each = REQUESTS / SCENARIOS;
		int abandoned = each * (SCENARIOS - 1);
		HangupMeters.awaitCounts(registry, HangupMetrics.SERVER_HANGUPS, Map.of("kind=CLIENT_CANCEL", (long) abandoned),
				HangupMetrics.KIND);
		// One call per abandoned request, each counted once, under its route's id.
		HangupMeters
			.awaitCounts(
					registry, HangupMetrics.CLIENT_HANGUPS, Map.of("kind=CLIENT_CANCEL,upstream=faulty",
							(long) each * 4, "kind=CLIENT_CANCEL,upstream=held", (long) each),
					HangupMetrics.KIND, HangupMetrics.UPSTREAM);
		HangupMeters.awaitCounts(registry, "http.server.requests",
				Map.of("hangup=CLIENT_CANCEL", (long) abandoned, "hangup=NONE", (long) each), "hangup");
		// The upstream saw every cancel of a call that was waiting on it.
		assertThat(upstream.peerClosed("/hang")).isEqualTo(upstream.received("/hang"));
		assertThat(upstream.peerClosed("/sse")).isEqualTo(upstream.received("/sse"));
		assertNoLeak(output);
	}

	/**
	 * Netty reports a leaked buffer when the garbage collector finds it and a later
	 * allocation is tracked: collect, allocate, and look.
	 */
	private static void assertNoLeak(CapturedOutput output) throws Exception {
		for (int round = 0; round < 3; round++) {
			System.gc();
			for (int i = 0; i < 5; i++) {
				try (RawHttpClient client = new RawHttpClient(port, READ_TIMEOUT)) {
					assertThat(client.send("GET", "/ok").readHead().status()).isEqualTo(200);
					client.readBytes(5);
				}
			}
		}
		assertThat(output.toString()).doesNotContain("LEAK:");
	}

	private static void run(int scenario) throws Exception {
		try (RawHttpClient client = new RawHttpClient(port, READ_TIMEOUT)) {
			switch (scenario) {
				case 0 -> {
					// One at a time between sending and arriving, so that the arrival
					// seen is this request's: every abandoned request then has a call to
					// count.
					synchronized (HANG) {
						int received = upstream.received("/hang");
						client.send("GET", "/hang");
						await().atMost(READ_TIMEOUT)
							.pollInterval(Duration.ofMillis(1))
							.until(() -> upstream.received("/hang") > received);
					}
				}
				case 1 -> {
					assertThat(client.send("GET", "/big").readHead().status()).isEqualTo(200);
					client.readBytes(64 * 1024);
					client.reset();
				}
				case 2 -> {
					assertThat(client.send("GET", "/big-chunked").readHead().status()).isEqualTo(200);
					client.readBytes(1000);
				}
				case 3 -> {
					Head head = client.send("GET", "/sse").readHead();
					assertThat(head.status()).isEqualTo(200);
					client.readBytes(4);
				}
				case 4 -> cancelAfterResponseArrived(client);
				default -> {
					assertThat(client.send("GET", "/held/ok").readHead().status()).isEqualTo(200);
					assertThat(new String(client.readBytes(5))).isEqualTo("hello");
				}
			}
		}
	}

	private static void cancelAfterResponseArrived() throws Exception {
		try (RawHttpClient client = new RawHttpClient(port, READ_TIMEOUT)) {
			cancelAfterResponseArrived(client);
		}
	}

	private static void cancelAfterResponseArrived(RawHttpClient client) throws Exception {
		String id = String.valueOf(ids.incrementAndGet());
		client.send("GET", "/held/ok", "X-Hold: " + id);
		await().atMost(READ_TIMEOUT)
			.pollInterval(Duration.ofMillis(1))
			.until(() -> RoutingConfigurations.HoldAfterResponse.HELD.contains(id));
	}

	private static void awaitNothingInFlight() {
		await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(10)).untilAsserted(() -> {
			assertThat(gateway.getBean(HangupWebFilter.class).openScopes()).as("open scopes").isZero();
			assertThat(gateway.getBean(OutboundCalls.class).inFlight()).as("calls in flight").isZero();
			assertThat(pool("reactor.netty.connection.provider.active.connections")).as("active connections").isZero();
			assertThat(pool("reactor.netty.connection.provider.pending.connections")).as("pending acquires").isZero();
		});
	}

	private static double pool(String gauge) {
		List<Gauge> gauges = new ArrayList<>(Metrics.globalRegistry.find(gauge).tag("name", "proxy").gauges());
		assertThat(gauges).as(gauge).isNotEmpty();
		return gauges.stream().mapToDouble(Gauge::value).sum();
	}

}
