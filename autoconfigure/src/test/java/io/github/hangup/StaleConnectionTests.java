package io.github.hangup;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import io.github.hangup.actuate.HangupHistory;
import io.github.hangup.actuate.RecordedHangup;
import io.github.hangup.metrics.HangupMetrics;
import io.github.hangup.support.FaultyUpstream;
import io.github.hangup.support.HangupMeters;
import io.github.hangup.support.StaleUpstream;
import io.github.hangup.support.StaleUpstream.Ending;
import io.github.hangup.support.TestApps;
import io.micrometer.core.instrument.MeterRegistry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import reactor.core.publisher.Mono;
import reactor.netty.http.client.HttpClient;
import reactor.netty.resources.ConnectionProvider;

import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.core.env.Environment;
import org.springframework.http.HttpMethod;
import org.springframework.http.ResponseEntity;
import org.springframework.http.client.reactive.ClientHttpConnector;
import org.springframework.http.client.reactive.ClientHttpResponse;
import org.springframework.http.client.reactive.ReactorClientHttpConnector;
import org.springframework.http.server.reactive.ServerHttpRequest;
import org.springframework.mock.http.client.reactive.MockClientHttpRequest;
import org.springframework.test.web.reactive.server.WebTestClient;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.reactive.function.client.WebClient;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Pooled keep-alive connections that went stale under a proxy: the upstream (or a load
 * balancer in between) dropped them while they sat idle, and says so only when the next
 * request arrives on one. Replayable calls are sent once more on a new connection; other
 * calls get an honest 502 marked stale; an upstream that advertises its keep-alive
 * timeout never gets a request on a connection it is about to drop.
 */
class StaleConnectionTests {

	private static final int CALLS = 5;

	private StaleUpstream upstream;

	private ConfigurableApplicationContext proxy;

	@AfterEach
	void stop() throws Exception {
		if (this.proxy != null) {
			this.proxy.close();
		}
		if (this.upstream != null) {
			this.upstream.close();
		}
	}

	@ParameterizedTest(name = "{0}")
	@EnumSource(Ending.class)
	void replayableCallsOnAStaleConnectionSucceedAfterOneRetryEach(Ending ending) throws Exception {
		start(new StaleUpstream(Duration.ZERO, ending, false));
		WebTestClient client = client();
		for (int i = 0; i < CALLS; i++) {
			client.get().uri("/proxy/item").exchange().expectStatus().isOk().expectBody(String.class).isEqualTo("ok");
			client.method(HttpMethod.HEAD).uri("/proxy/item").exchange().expectStatus().isOk();
			client.post().uri("/proxy/item").header("Idempotency-Key", "k" + i).exchange().expectStatus().isOk();
		}
		// Every call but the very first reused the one pooled connection, found it stale
		// and went again on a new one.
		assertThat(this.upstream.killed()).isEqualTo(3 * CALLS - 1);
		assertThat(this.upstream.answered("GET") + this.upstream.answered("HEAD") + this.upstream.answered("POST"))
			.isEqualTo(3 * CALLS);
		assertThat(retries()).isEqualTo(Map.of("method=GET,reason=STALE_CONNECTION," + upstreamTag(),
				(double) CALLS - 1, "method=HEAD,reason=STALE_CONNECTION," + upstreamTag(), (double) CALLS,
				"method=POST,reason=STALE_CONNECTION," + upstreamTag(), (double) CALLS));
		assertThat(HangupMeters.counts(registry(), HangupMetrics.CLIENT_HANGUPS)).isEmpty();
		assertThat(HangupMeters.counts(registry(), HangupMetrics.SERVER_HANGUPS)).isEmpty();
	}

	@ParameterizedTest(name = "{0}")
	@EnumSource(Ending.class)
	void postOnAStaleConnectionIsAnHonest502MarkedStaleAndReachesTheUpstreamOnce(Ending ending) throws Exception {
		start(new StaleUpstream(Duration.ZERO, ending, false));
		WebTestClient client = client();
		client.get().uri("/proxy/item").exchange().expectStatus().isOk();
		expectProblem(client.post().uri("/proxy/item").exchange(), 502, "UPSTREAM_RESET");
		assertThat(this.upstream.received("POST")).isOne();
		assertThat(retries()).isEmpty();
		HangupMeters.awaitCounts(registry(), HangupMetrics.CLIENT_HANGUPS,
				Map.of("connection=REUSED,kind=UPSTREAM_RESET,method=POST,phase=BEFORE_RESPONSE," + upstreamTag(), 1L));
		HangupMeters.awaitCounts(registry(), "http.server.requests",
				Map.of("hangup=UPSTREAM_RESET,status=502", 1L, "hangup=NONE,status=200", 1L), "hangup", "status");
		List<RecordedHangup> recent = this.proxy.getBean(HangupHistory.class).recent();
		assertThat(recent).hasSize(2).allSatisfy((event) -> {
			assertThat(event.connection()).isEqualTo("REUSED");
			assertThat(event.connectionRequests()).isOne();
			assertThat(event.connectionIdleMillis()).isNotNull();
		});
		assertThat(recent)
			.anySatisfy((event) -> assertThat(event.explanation()).contains("closed this connection after it sat idle")
				.contains("hangup.client.max-idle-time"));
	}

	@Test
	void anUpstreamThatAdvertisesItsKeepAliveTimeoutNeverGetsAStaleConnection() throws Exception {
		start(new StaleUpstream(Duration.ofSeconds(1), Ending.RST, true));
		WebTestClient client = client();
		for (HttpMethod method : List.of(HttpMethod.GET, HttpMethod.POST, HttpMethod.DELETE)) {
			client.method(method).uri("/proxy/item").exchange().expectStatus().isOk();
			int closed = this.upstream.peerClosed();
			// Closed by the proxy half a second in, before the upstream's one second.
			await().atMost(Duration.ofSeconds(5)).until(() -> this.upstream.peerClosed() == closed + 1);
		}
		assertThat(this.upstream.killed()).isZero();
		assertThat(this.upstream.connections()).isEqualTo(3);
		assertThat(retries()).isEmpty();
		assertThat(HangupMeters.counts(registry(), HangupMetrics.CLIENT_HANGUPS)).isEmpty();
	}

	@Test
	void connectionsStillGoodAreReused() throws Exception {
		start(new StaleUpstream(Duration.ofSeconds(30), Ending.RST, true));
		WebTestClient client = client();
		for (int i = 0; i < CALLS; i++) {
			client.get().uri("/proxy/item").exchange().expectStatus().isOk();
		}
		assertThat(this.upstream.connections()).isOne();
	}

	@Test
	void aCallFailingOnANewConnectionIsNeverRetried() throws Exception {
		try (FaultyUpstream faulty = new FaultyUpstream()) {
			this.proxy = TestApps.start(ProxyController.class, "test.upstream=" + faulty.baseUrl());
			client().get().uri("/proxy/close").exchange().expectStatus().isEqualTo(502);
			assertThat(faulty.received("/close")).isOne();
			assertThat(retries()).isEmpty();
		}
	}

	@Test
	void aRetryGetsWhatIsLeftOfTheResponseTimeoutNotAFreshOne() throws Exception {
		// The stale connection fails after 2.5 s and the retry is never answered: the
		// call times out 3 s after it was first sent, not 3 s after the retry.
		start(new StaleUpstream(Duration.ZERO, Ending.FIN, false).staleAnswerDelay(Duration.ofMillis(2500))
			.silentAfterStale(), "hangup.client.response-timeout=3s");
		WebTestClient client = client();
		client.get().uri("/proxy/item").exchange().expectStatus().isOk();
		long start = System.nanoTime();
		expectProblem(client.get().uri("/proxy/item").exchange(), 504, "UPSTREAM_TIMEOUT");
		Duration took = Duration.ofNanos(System.nanoTime() - start);
		// A fresh timeout would end it at 5.5 s at the earliest.
		assertThat(took).isGreaterThanOrEqualTo(Duration.ofMillis(2900)).isLessThan(Duration.ofMillis(4500));
		assertThat(this.upstream.received("GET")).isEqualTo(3);
		assertThat(retries()).isEqualTo(Map.of("method=GET,reason=STALE_CONNECTION," + upstreamTag(), 1.0));
		HangupMeters.awaitClientHangups(registry(),
				Map.of("kind=UPSTREAM_TIMEOUT,method=GET,phase=BEFORE_RESPONSE," + upstreamTag(), 1L));
	}

	@Test
	void aCallThePoolCouldNotWriteBecauseItsConnectionsWereClosedGoesOnceMoreWhateverItsMethod() throws Exception {
		start(new StaleUpstream(Duration.ofSeconds(30), Ending.FIN, false), ClosedPoolController.class);
		client().post()
			.uri("/closed-pool")
			.bodyValue("payload")
			.exchange()
			.expectStatus()
			.isOk()
			.expectBody(String.class)
			.isEqualTo("ok");
		assertThat(this.upstream.received("POST")).isOne();
		assertThat(retries()).isEqualTo(Map.of("method=POST,reason=STALE_CONNECTION," + upstreamTag(), 1.0));
		assertThat(HangupMeters.counts(registry(), HangupMetrics.CLIENT_HANGUPS)).isEmpty();
	}

	@Test
	void aCallThePoolCouldNotWriteIsAnHonest502WhenRetryingIsOff() throws Exception {
		start(new StaleUpstream(Duration.ofSeconds(30), Ending.FIN, false), ClosedPoolController.class,
				"hangup.client.retry-stale-connections=false");
		expectProblem(client().post().uri("/closed-pool").bodyValue("payload").exchange(), 502, "UPSTREAM_RESET");
		assertThat(this.upstream.received("POST")).isZero();
		HangupMeters.awaitClientHangups(registry(),
				Map.of("kind=UPSTREAM_RESET,method=POST,phase=BEFORE_RESPONSE," + upstreamTag(), 1L));
	}

	@Test
	void aCallItsConnectorAlreadySentTwiceIsNotSentAThirdTime() throws Exception {
		// Reactor Netty sends some requests again by itself: the call's connector then
		// writes it twice in one exchange. Here the connector's first attempt ends as
		// Reactor Netty's would before it retries, and its second one finds the stale
		// pooled connection.
		start(new StaleUpstream(Duration.ZERO, Ending.FIN, false), SelfRetryingController.class);
		WebTestClient client = client();
		client.get().uri("/self-retrying").exchange().expectStatus().isOk();
		expectProblem(client.get().uri("/self-retrying").exchange(), 502, "UPSTREAM_RESET");
		assertThat(this.upstream.received("GET")).isEqualTo(2);
		assertThat(this.upstream.killed()).isOne();
		assertThat(retries()).isEmpty();
	}

	@Test
	void retryingCanBeTurnedOff() throws Exception {
		start(new StaleUpstream(Duration.ZERO, Ending.FIN, false), "hangup.client.retry-stale-connections=false");
		WebTestClient client = client();
		client.get().uri("/proxy/item").exchange().expectStatus().isOk();
		client.get().uri("/proxy/item").exchange().expectStatus().isEqualTo(502);
		assertThat(this.upstream.received("GET")).isEqualTo(2);
		assertThat(retries()).isEmpty();
	}

	private void start(StaleUpstream upstream, String... properties) {
		start(upstream, ProxyController.class, properties);
	}

	private void start(StaleUpstream upstream, Class<?> controller, String... properties) {
		this.upstream = upstream;
		String[] all = new String[properties.length + 2];
		System.arraycopy(properties, 0, all, 0, properties.length);
		all[properties.length] = "test.upstream=" + upstream.baseUrl();
		all[properties.length + 1] = "management.endpoints.web.exposure.include=hangups";
		this.proxy = TestApps.start(controller, all);
	}

	private static void expectProblem(WebTestClient.ResponseSpec response, int status, String kind) {
		response.expectStatus().isEqualTo(status).expectBody().jsonPath("$.hangup").isEqualTo(kind);
	}

	private WebTestClient client() {
		return WebTestClient.bindToServer()
			.baseUrl("http://127.0.0.1:" + TestApps.port(this.proxy))
			.responseTimeout(Duration.ofSeconds(10))
			.build();
	}

	private MeterRegistry registry() {
		return this.proxy.getBean(MeterRegistry.class);
	}

	private String upstreamTag() {
		return "upstream=127.0.0.1:" + ((this.upstream != null) ? this.upstream.port() : 0);
	}

	private Map<String, Double> retries() {
		return HangupMeters.counters(registry(), HangupMetrics.CLIENT_RETRIES);
	}

	/**
	 * Relays any method to the upstream through one pooled connection, so that every call
	 * after the first reuses it.
	 */
	@RestController
	static class ProxyController {

		private final WebClient webClient;

		ProxyController(WebClient.Builder builder, Environment environment) {
			HttpClient httpClient = HttpClient.create(ConnectionProvider.create("stale-test", 1));
			this.webClient = builder.clone()
				.clientConnector(new ReactorClientHttpConnector(httpClient))
				.baseUrl(environment.getRequiredProperty("test.upstream"))
				.build();
		}

		@RequestMapping("/proxy/{path}")
		Mono<ResponseEntity<String>> relay(ServerHttpRequest request,
				@org.springframework.web.bind.annotation.PathVariable String path) {
			return this.webClient.method(request.getMethod()).uri("/" + path).headers((headers) -> {
				String key = request.getHeaders().getFirst("Idempotency-Key");
				if (key != null) {
					headers.set("Idempotency-Key", key);
				}
			}).retrieve().toEntity(String.class);
		}

	}

	/**
	 * Relays a GET through one pooled connection and a connector that, from the second
	 * call on, writes the request twice in one exchange, as Reactor Netty does when it
	 * retries by itself: a first attempt that fails before the upstream saw it, then the
	 * real one.
	 */
	@RestController
	static class SelfRetryingController {

		private final WebClient webClient;

		SelfRetryingController(WebClient.Builder builder, Environment environment) {
			ClientHttpConnector connector = new ReactorClientHttpConnector(
					HttpClient.create(ConnectionProvider.create("self-retrying", 1)));
			AtomicInteger calls = new AtomicInteger();
			ClientHttpConnector selfRetrying = (method, uri, callback) -> {
				if (calls.incrementAndGet() == 1) {
					return connector.connect(method, uri, callback);
				}
				return callback.apply(new MockClientHttpRequest(method, uri))
					.then(Mono
						.<ClientHttpResponse>error(new IOException("Connection has been closed BEFORE send operation")))
					.onErrorResume((error) -> connector.connect(method, uri, callback));
			};
			this.webClient = builder.clone()
				.clientConnector(selfRetrying)
				.baseUrl(environment.getRequiredProperty("test.upstream"))
				.build();
		}

		@org.springframework.web.bind.annotation.GetMapping("/self-retrying")
		Mono<ResponseEntity<String>> relay() {
			return this.webClient.get().uri("/item").retrieve().toEntity(String.class);
		}

	}

	/**
	 * Relays a POST, its body streamed from the inbound request, through a connector
	 * whose first connect fails as Reactor Netty's pool does when the connections it
	 * picked were both closed before the request could be written on them: a race between
	 * the pool and an upstream closing its idle connections that real sockets cannot
	 * produce on demand.
	 */
	@RestController
	static class ClosedPoolController {

		private final WebClient webClient;

		ClosedPoolController(WebClient.Builder builder, Environment environment) {
			ClientHttpConnector connector = new ReactorClientHttpConnector(HttpClient.create());
			java.util.concurrent.atomic.AtomicBoolean failed = new java.util.concurrent.atomic.AtomicBoolean();
			ClientHttpConnector failingOnce = (method, uri, callback) -> failed.compareAndSet(false, true)
					? Mono.error(new java.io.IOException(
							"Error while acquiring from reactor.netty.internal.shaded.reactor.pool.SimpleDequePool@1"))
					: connector.connect(method, uri, callback);
			this.webClient = builder.clone()
				.clientConnector(failingOnce)
				.baseUrl(environment.getRequiredProperty("test.upstream"))
				.build();
		}

		@org.springframework.web.bind.annotation.PostMapping("/closed-pool")
		Mono<ResponseEntity<String>> relay(ServerHttpRequest request) {
			return this.webClient.post()
				.uri("/item")
				.contentType(org.springframework.http.MediaType.TEXT_PLAIN)
				.body(request.getBody(), org.springframework.core.io.buffer.DataBuffer.class)
				.retrieve()
				.toEntity(String.class);
		}

	}

}
