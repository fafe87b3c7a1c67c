package io.github.hangup.servlet;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import io.github.hangup.HangupObservations;
import io.github.hangup.support.HangupMeters;
import io.github.hangup.support.RawHttpClient;
import io.github.hangup.support.RawHttpClient.Head;
import io.github.hangup.support.ServletRelay;
import org.apache.hc.core5.util.Timeout;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import org.springframework.boot.http.client.HttpComponentsClientHttpRequestFactoryBuilder;
import org.springframework.boot.http.client.JettyClientHttpRequestFactoryBuilder;
import org.springframework.boot.http.client.autoconfigure.ClientHttpRequestFactoryBuilderCustomizer;
import org.springframework.context.annotation.Bean;
import org.springframework.core.env.Environment;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.client.RestClient;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A full connection pool of a blocking client, as Boot builds it, limited the way Boot
 * lets an application limit it (a {@code ClientHttpRequestFactoryBuilderCustomizer}):
 * Apache HttpClient 5 with one connection and a wait for it of half a second, and the
 * Jetty client with one connection and one call queued for it. A call that finds the pool
 * full is an {@code UPSTREAM_OVERFLOW}: {@code 503} with {@code Retry-After}, counted
 * once on each side, while the calls that hold or wait for the connection are answered.
 */
class MvcPoolOverflowTests {

	private static final Duration READ_TIMEOUT = Duration.ofSeconds(10);

	private static final ExecutorService THREADS = Executors.newCachedThreadPool();

	@RegisterExtension
	static final ServletRelay apache = ServletRelay.of(PoolController.class,
			"spring.http.clients.imperative.factory=http-components", "spring.http.clients.read-timeout=10s");

	@RegisterExtension
	static final ServletRelay jetty = ServletRelay.of(PoolController.class,
			"spring.http.clients.imperative.factory=jetty", "spring.http.clients.read-timeout=10s");

	@AfterAll
	static void stop() {
		THREADS.shutdownNow();
	}

	/** Apache waits half a second for the connection another call holds, then fails. */
	@Test
	void apacheCallFindingThePoolFullIsAnswered503AndCountedOnceOnEachSide() throws Exception {
		assertOverflow(apache, 1);
	}

	/**
	 * Jetty queues one call for the connection another call holds, and rejects the next
	 * at once.
	 */
	@Test
	void jettyCallFindingTheQueueFullIsAnswered503AndCountedOnceOnEachSide() throws Exception {
		assertOverflow(jetty, 2);
	}

	/**
	 * The given number of calls hold or wait for the only connection; the next one
	 * overflows, and the others are answered once the upstream answers.
	 */
	private static void assertOverflow(ServletRelay relay, int holding) throws Exception {
		int receivedBefore = relay.upstream().received("/gate");
		int queuedBefore = PoolController.queued.get();
		List<CompletableFuture<Integer>> holders = new ArrayList<>();
		for (int i = 0; i < holding; i++) {
			holders.add(CompletableFuture.supplyAsync(() -> status(relay, "/call/gate"), THREADS));
			if (i == 0) {
				// The first holds the connection, and has left the client's queue.
				relay.upstream().awaitReceived("/gate", receivedBefore + 1);
			}
			else {
				// The others wait in the client's queue (Jetty's; Apache's calls wait
				// for the connection itself).
				int queued = queuedBefore + i + 1;
				await().atMost(READ_TIMEOUT).untilAsserted(() -> assertThat(PoolController.queued).hasValue(queued));
			}
		}
		Head head;
		String body;
		try (RawHttpClient raw = new RawHttpClient(relay.port(), READ_TIMEOUT)) {
			head = raw.send("GET", "/call/ok", "Connection: close").readHead();
			body = raw.readRest().text();
		}
		assertThat(head.status()).isEqualTo(503);
		assertThat(head.header("retry-after")).isEqualTo("1");
		assertThat(body).contains("\"hangup\":\"UPSTREAM_OVERFLOW\"").doesNotContain("127.0.0.1");
		relay.upstream().openGate();
		for (CompletableFuture<Integer> holder : holders) {
			assertThat(holder.get(READ_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)).isEqualTo(200);
		}
		HangupMeters.awaitAll(relay.registry(),
				Map.of("kind=UPSTREAM_OVERFLOW,method=GET,phase=BEFORE_RESPONSE,uri=/call/{path}", 1L),
				Map.of("kind=UPSTREAM_OVERFLOW,method=GET,phase=BEFORE_RESPONSE,upstream=127.0.0.1:"
						+ relay.upstream().port(), 1L),
				Map.of("hangup=NONE,status=200,uri=/call/{path}", (long) holding,
						"hangup=UPSTREAM_OVERFLOW,status=503,uri=/call/{path}", 1L),
				new String[] { HangupObservations.KEY, "status", "uri" },
				Map.of("hangup=NONE,method=GET", (long) holding, "hangup=UPSTREAM_OVERFLOW,method=GET", 1L));
	}

	private static int status(ServletRelay relay, String path) {
		try (RawHttpClient raw = new RawHttpClient(relay.port(), READ_TIMEOUT)) {
			int status = raw.send("GET", path, "Connection: close").readHead().status();
			raw.readRest();
			return status;
		}
		catch (Exception ex) {
			throw new IllegalStateException(ex);
		}
	}

	@RestController
	static class PoolController {

		static final AtomicInteger queued = new AtomicInteger();

		private final RestClient restClient;

		PoolController(RestClient.Builder restClients, Environment environment) {
			this.restClient = restClients.clone().baseUrl(environment.getRequiredProperty("test.upstream")).build();
		}

		/** One connection, waited for half a second, as an application sets it up. */
		@Bean
		static ClientHttpRequestFactoryBuilderCustomizer<HttpComponentsClientHttpRequestFactoryBuilder> onePooledConnection() {
			return (builder) -> builder
				.withConnectionManagerCustomizer((manager) -> manager.setMaxConnPerRoute(1).setMaxConnTotal(1))
				.withDefaultRequestConfigCustomizer(
						(config) -> config.setConnectionRequestTimeout(Timeout.ofMilliseconds(500)));
		}

		/** One connection, one call queued for it; counts the calls queued. */
		@Bean
		static ClientHttpRequestFactoryBuilderCustomizer<JettyClientHttpRequestFactoryBuilder> oneJettyConnection() {
			return (builder) -> builder.withHttpClientCustomizer((client) -> {
				client.setMaxConnectionsPerDestination(1);
				client.setMaxRequestsQueuedPerDestination(1);
				client.getRequestListeners().addQueuedListener((request) -> queued.incrementAndGet());
			});
		}

		@GetMapping("/call/{path}")
		String call(@PathVariable String path) {
			return this.restClient.get().uri("/" + path).retrieve().body(String.class);
		}

	}

}
