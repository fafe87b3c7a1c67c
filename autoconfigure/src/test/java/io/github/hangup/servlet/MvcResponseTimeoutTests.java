package io.github.hangup.servlet;

import java.time.Duration;
import java.util.Map;

import io.github.hangup.HangupObservations;
import io.github.hangup.metrics.HangupMetrics;
import io.github.hangup.support.HangupMeters;
import io.github.hangup.support.RawHttpClient;
import io.github.hangup.support.RawHttpClient.Head;
import io.github.hangup.support.ServletRelay;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import org.springframework.boot.restclient.RestTemplateBuilder;
import org.springframework.core.env.Environment;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.client.RestClient;
import org.springframework.web.client.RestTemplate;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code hangup.client.response-timeout} is the timeout of the {@code RestClient} and
 * {@code RestTemplate} Boot builds, in place of Boot's read timeout: here Boot's is a
 * minute and Hangup's one second, so a silent upstream is answered {@code 504} after
 * Hangup's.
 */
class MvcResponseTimeoutTests {

	/** Shorter than Boot's read timeout: only Hangup's can end the calls within it. */
	private static final Duration READ_TIMEOUT = Duration.ofSeconds(15);

	@RegisterExtension
	static final ServletRelay relay = ServletRelay.of(TimedController.class, "spring.http.clients.read-timeout=60s",
			"hangup.client.response-timeout=1s");

	@ParameterizedTest
	@ValueSource(strings = { "rest-client", "rest-template" })
	void silentUpstreamIsEndedAfterHangupsResponseTimeoutNotBoots(String client) throws Exception {
		Head head;
		String body;
		long start = System.nanoTime();
		try (RawHttpClient raw = new RawHttpClient(relay.port(), READ_TIMEOUT)) {
			head = raw.send("GET", "/" + client + "/hang", "Connection: close").readHead();
			body = raw.readRest().text();
		}
		assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(READ_TIMEOUT);
		assertThat(head.status()).isEqualTo(504);
		assertThat(body).contains("\"hangup\":\"UPSTREAM_TIMEOUT\"");
		HangupMeters.awaitCounts(relay.registry(), HangupMetrics.SERVER_HANGUPS,
				Map.of("kind=UPSTREAM_TIMEOUT,method=GET,phase=BEFORE_RESPONSE,uri=/" + client + "/{path}", 1L));
		HangupMeters.awaitClientHangups(relay.registry(), Map.of(
				"kind=UPSTREAM_TIMEOUT,method=GET,phase=BEFORE_RESPONSE,upstream=127.0.0.1:" + relay.upstream().port(),
				1L));
		HangupMeters.awaitCounts(relay.registry(), "http.client.requests", Map.of("hangup=UPSTREAM_TIMEOUT", 1L),
				HangupObservations.KEY);
	}

	@ParameterizedTest
	@ValueSource(strings = { "rest-client", "rest-template" })
	void healthyUpstreamIsRelayedAsBefore(String client) throws Exception {
		try (RawHttpClient raw = new RawHttpClient(relay.port(), READ_TIMEOUT)) {
			Head head = raw.send("GET", "/" + client + "/ok", "Connection: close").readHead();
			assertThat(head.status()).isEqualTo(200);
			assertThat(raw.readRest().text()).contains("hello");
		}
		HangupMeters.awaitClientHangups(relay.registry(), Map.of());
	}

	/**
	 * Relays with the clients Boot builds.
	 */
	@RestController
	static class TimedController {

		private final RestClient restClient;

		private final RestTemplate restTemplate;

		TimedController(RestClient.Builder restClients, RestTemplateBuilder restTemplates, Environment environment) {
			String upstream = environment.getRequiredProperty("test.upstream");
			this.restClient = restClients.baseUrl(upstream).build();
			this.restTemplate = restTemplates.rootUri(upstream).build();
		}

		@GetMapping("/rest-client/{path}")
		String restClient(@PathVariable String path) {
			return this.restClient.get().uri("/" + path).retrieve().body(String.class);
		}

		@GetMapping("/rest-template/{path}")
		String restTemplate(@PathVariable String path) {
			return this.restTemplate.getForObject("/" + path, String.class);
		}

	}

}
