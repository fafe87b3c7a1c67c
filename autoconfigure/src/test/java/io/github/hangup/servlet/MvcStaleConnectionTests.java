package io.github.hangup.servlet;

import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;

import io.github.hangup.metrics.HangupMetrics;
import io.github.hangup.support.Answer;
import io.github.hangup.support.HangupMeters;
import io.github.hangup.support.ServletTestApps;
import io.github.hangup.support.Settled;
import io.github.hangup.support.StaleUpstream;
import io.github.hangup.support.StaleUpstream.Ending;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.core.env.Environment;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.client.RestClient;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Pooled keep-alive connections that went stale, under a Spring MVC relay on each request
 * factory: an upstream that closes or resets every connection reused for a second
 * request, without answering it. Apache HttpClient 5 and the JDK client send such a
 * request again on a new connection by themselves, so every call succeeds; the Jetty
 * client and Reactor Netty's factory do not, and every call that found its connection
 * stale is an honest {@code 502 UPSTREAM_RESET}, counted once on each side.
 */
class MvcStaleConnectionTests {

	private static final int CALLS = 6;

	@ParameterizedTest(name = "{0} {1}")
	@CsvSource({ "http-components,FIN", "http-components,RST", "jdk,FIN", "jdk,RST" })
	void clientsThatRetryByThemselvesAnswerEveryCall(String factory, Ending ending) throws Exception {
		try (StaleUpstream upstream = new StaleUpstream(Duration.ZERO, ending, false)) {
			ConfigurableApplicationContext app = start(upstream, factory);
			try {
				for (int i = 0; i < CALLS; i++) {
					Answer answer = Answer.get(app, "/relay", Duration.ofSeconds(20));
					assertThat(answer.head().status()).isEqualTo(200);
					assertThat(answer.body()).isEqualTo("ok");
				}
				// Every call but the first found the one pooled connection stale. The
				// upstream counts a request it answered just after the answer went out.
				await().untilAsserted(() -> assertThat(upstream.answered("GET")).isEqualTo(CALLS));
				assertThat(upstream.killed()).isEqualTo(CALLS - 1);
				MeterRegistry registry = app.getBean(MeterRegistry.class);
				HangupMeters.awaitAll(registry, Map.of(), Map.of(), Map.of("hangup=NONE,status=200", (long) CALLS),
						new String[] { "hangup", "status" }, Map.of("hangup=NONE,method=GET", (long) CALLS));
				// Apache's retries are counted as Hangup counts its own; the JDK client's
				// cannot be seen.
				Map<String, Double> retries = factory.equals("http-components") ? Map
					.of("method=GET,reason=STALE_CONNECTION,upstream=127.0.0.1:" + upstream.port(), (double) CALLS - 1)
						: Map.of();
				Settled.awaitAndHold("retries", () -> retries(registry), retries);
			}
			finally {
				app.close();
			}
		}
	}

	@ParameterizedTest(name = "{0} {1}")
	@CsvSource({ "jetty,FIN", "jetty,RST", "reactor,FIN", "reactor,RST" })
	void clientsThatDoNotRetryAnswerAStaleConnectionWithAnHonest502(String factory, Ending ending) throws Exception {
		try (StaleUpstream upstream = new StaleUpstream(Duration.ZERO, ending, false)) {
			ConfigurableApplicationContext app = start(upstream, factory);
			try {
				int failed = 0;
				for (int i = 0; i < CALLS; i++) {
					Answer answer = Answer.get(app, "/relay", Duration.ofSeconds(20));
					if (answer.head().status() != 200) {
						answer.assertProblem(502, "UPSTREAM_RESET");
						failed++;
					}
				}
				int answered = CALLS - failed;
				await().untilAsserted(() -> assertThat(upstream.answered("GET")).isEqualTo(answered));
				assertThat(failed).isEqualTo(upstream.killed()).isPositive();
				MeterRegistry registry = app.getBean(MeterRegistry.class);
				long ok = CALLS - failed;
				HangupMeters.awaitAll(registry,
						Map.of("kind=UPSTREAM_RESET,method=GET,phase=BEFORE_RESPONSE,uri=/relay", (long) failed),
						Map.of("kind=UPSTREAM_RESET,method=GET,phase=BEFORE_RESPONSE,upstream=127.0.0.1:"
								+ upstream.port(), (long) failed),
						Map.of("hangup=NONE,status=200", ok, "hangup=UPSTREAM_RESET,status=502", (long) failed),
						new String[] { "hangup", "status" },
						Map.of("hangup=NONE,method=GET", ok, "hangup=UPSTREAM_RESET,method=GET", (long) failed));
				Settled.awaitAndHold("retries", () -> retries(registry), Map.of());
			}
			finally {
				app.close();
			}
		}
	}

	private static Map<String, Double> retries(MeterRegistry registry) {
		Map<String, Double> retries = new TreeMap<>();
		for (Counter counter : registry.find(HangupMetrics.CLIENT_RETRIES).counters()) {
			retries.put(counter.getId()
				.getTags()
				.stream()
				.map((tag) -> tag.getKey() + "=" + tag.getValue())
				.collect(Collectors.joining(",")), counter.count());
		}
		return retries;
	}

	private static ConfigurableApplicationContext start(StaleUpstream upstream, String factory) {
		return ServletTestApps.start(RelayController.class, "test.upstream=" + upstream.baseUrl(),
				"spring.http.clients.imperative.factory=" + factory);
	}

	@RestController
	static class RelayController {

		private final RestClient client;

		RelayController(RestClient.Builder builder, Environment environment) {
			this.client = builder.baseUrl(environment.getRequiredProperty("test.upstream")).build();
		}

		@GetMapping("/relay")
		String relay() {
			return this.client.get().uri("/item").retrieve().body(String.class);
		}

	}

}
