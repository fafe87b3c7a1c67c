package io.github.hangup;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import io.github.hangup.support.FaultyUpstream;
import io.github.hangup.support.HangupMeters;
import io.github.hangup.support.RawHttpClient;
import io.github.hangup.support.TestApps;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Mono;

import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.core.env.Environment;
import org.springframework.core.ParameterizedTypeReference;
import org.springframework.test.web.reactive.server.WebTestClient;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.reactive.function.client.WebClient;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * What operators see on a real server: the {@code hangups} endpoint, the {@code hangup}
 * key on Boot's HTTP observations and the 499 option.
 */
class ObservabilityIntegrationTests {

	private static FaultyUpstream upstream;

	private static ConfigurableApplicationContext proxy;

	private static MeterRegistry registry;

	private static WebTestClient actuator;

	private static int port;

	@BeforeAll
	static void start() throws Exception {
		upstream = new FaultyUpstream();
		proxy = TestApps.start(ItemsController.class, "test.upstream=" + upstream.baseUrl(), "hangup.events.capacity=3",
				"hangup.observation.client-closed-status=499", "management.endpoints.web.exposure.include=hangups");
		registry = proxy.getBean(MeterRegistry.class);
		port = TestApps.port(proxy);
		actuator = WebTestClient.bindToServer().baseUrl("http://127.0.0.1:" + port).build();
	}

	@AfterAll
	static void stop() throws Exception {
		proxy.close();
		upstream.close();
	}

	@BeforeEach
	void clearMeters() {
		registry.clear();
	}

	@Test
	void hangupsEndpointShowsTotalsAndRecentEventsWithoutQueryStrings() throws Exception {
		Map<String, Object> before = hangups();
		long resetsBefore = total(before, "INBOUND", "UPSTREAM_RESET", "BEFORE_RESPONSE");
		for (int i = 0; i < 4; i++) {
			get("/items/" + i + "/close?secret=s3cr3t", 502);
		}
		await().atMost(Duration.ofSeconds(10))
			.until(() -> total(hangups(), "INBOUND", "UPSTREAM_RESET", "BEFORE_RESPONSE") == resetsBefore + 4);
		Map<String, Object> body = hangups();
		assertThat(body.get("capacity")).isEqualTo(3);
		List<Map<String, Object>> events = events(body);
		assertThat(events).hasSize(3);
		// Newest first: the inbound answer is recorded right after the outbound failure.
		Map<String, Object> inbound = events.get(0);
		assertThat(events.get(1)).containsEntry("side", "OUTBOUND").containsEntry("kind", "UPSTREAM_RESET");
		assertThat(inbound).containsEntry("kind", "UPSTREAM_RESET")
			.containsEntry("phase", "BEFORE_RESPONSE")
			.containsEntry("method", "GET")
			.containsEntry("route", "/items/{id}/{fault}")
			.containsEntry("upstream", "127.0.0.1:" + upstream.port())
			.containsEntry("status", 502)
			.containsKeys("timestamp", "elapsedMillis");
		assertThat((String) inbound.get("explanation")).startsWith("The upstream 127.0.0.1:" + upstream.port()
				+ " closed the connection before answering GET /items/{id}/{fault}");
		assertThat(body.toString()).doesNotContain("s3cr3t").doesNotContain("/items/3/");
	}

	@Test
	void hangupsEndpointExplainsAClientCancelAndTheCancelledUpstreamCall() throws Exception {
		int closed = upstream.peerClosed("/hang");
		try (RawHttpClient client = new RawHttpClient(port, Duration.ofSeconds(10))) {
			int received = upstream.received("/hang");
			client.send("GET", "/items/7/hang");
			upstream.awaitReceived("/hang", received + 1);
		}
		upstream.awaitPeerClosed("/hang", closed + 1);
		await().atMost(Duration.ofSeconds(10))
			.until(() -> events(hangups()).stream()
				.anyMatch((event) -> "INBOUND".equals(event.get("side")) && "CLIENT_CANCEL".equals(event.get("kind"))));
		Map<String, Object> cancel = events(hangups()).stream()
			.filter((event) -> "INBOUND".equals(event.get("side")) && "CLIENT_CANCEL".equals(event.get("kind")))
			.findFirst()
			.orElseThrow();
		assertThat((String) cancel.get("explanation")).matches("The client closed the connection \\d+ ms into "
				+ "GET /items/\\{id}/\\{fault}, before any response was sent \\(a browser refresh or a client "
				+ "timeout\\); the upstream call to 127\\.0\\.0\\.1:" + upstream.port() + " was cancelled\\.");
		assertThat(cancel).doesNotContainKey("clientAddress");
	}

	@Test
	void serverRequestsGainTheHangupKeyAndClientCancelsAreRecordedAs499() throws Exception {
		get("/items/1/ok", 200);
		get("/items/1/close", 502);
		try (RawHttpClient client = new RawHttpClient(port, Duration.ofSeconds(10))) {
			int received = upstream.received("/hang");
			client.send("GET", "/items/2/hang");
			upstream.awaitReceived("/hang", received + 1);
		}
		await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
			// Exactly one of each: a complete response is never counted as a client
			// cancel.
			assertThat(serverRequest("NONE", "200", "SUCCESS")).isEqualTo(1);
			assertThat(serverRequest("UPSTREAM_RESET", "502", "SERVER_ERROR")).isEqualTo(1);
			assertThat(serverRequest("CLIENT_CANCEL", "499", "CLIENT_ERROR")).isEqualTo(1);
		});
		await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
			assertThat(clientRequest("NONE")).isEqualTo(1);
			assertThat(clientRequest("UPSTREAM_RESET")).isEqualTo(1);
			assertThat(clientRequest("CLIENT_CANCEL")).isEqualTo(1);
		});
		assertThat(HangupMeters.counts(registry, "http.server.hangups")).containsOnlyKeys(
				"kind=CLIENT_CANCEL,method=GET,phase=BEFORE_RESPONSE,uri=/items/{id}/{fault}",
				"kind=UPSTREAM_RESET,method=GET,phase=BEFORE_RESPONSE,uri=/items/{id}/{fault}");
	}

	private static long serverRequest(String hangup, String status, String outcome) {
		Timer timer = registry.find("http.server.requests")
			.tag("uri", "/items/{id}/{fault}")
			.tag(HangupObservations.KEY, hangup)
			.tag("status", status)
			.tag("outcome", outcome)
			.timer();
		return (timer != null) ? timer.count() : 0;
	}

	private static long clientRequest(String hangup) {
		return registry.find("http.client.requests")
			.tag(HangupObservations.KEY, hangup)
			.timers()
			.stream()
			.mapToLong(Timer::count)
			.sum();
	}

	private static void get(String path, int status) {
		actuator.get().uri(path).exchange().expectStatus().isEqualTo(status).expectBody().returnResult();
	}

	private static Map<String, Object> hangups() {
		return actuator.get()
			.uri("/actuator/hangups")
			.exchange()
			.expectStatus()
			.isOk()
			.expectBody(new ParameterizedTypeReference<Map<String, Object>>() {
			})
			.returnResult()
			.getResponseBody();
	}

	@SuppressWarnings("unchecked")
	private static List<Map<String, Object>> events(Map<String, Object> body) {
		return (List<Map<String, Object>>) body.get("events");
	}

	@SuppressWarnings("unchecked")
	private static long total(Map<String, Object> body, String side, String kind, String phase) {
		return ((List<Map<String, Object>>) body.get("totals")).stream()
			.filter((total) -> side.equals(total.get("side")) && kind.equals(total.get("kind"))
					&& phase.equals(total.get("phase")))
			.mapToLong((total) -> ((Number) total.get("count")).longValue())
			.sum();
	}

	@RestController
	static class ItemsController {

		private final WebClient webClient;

		ItemsController(WebClient.Builder builder, Environment environment) {
			this.webClient = builder.baseUrl(environment.getRequiredProperty("test.upstream")).build();
		}

		@GetMapping("/items/{id}/{fault}")
		Mono<String> item(@PathVariable String id, @PathVariable String fault) {
			return this.webClient.get().uri("/" + fault).retrieve().bodyToMono(String.class);
		}

	}

}
