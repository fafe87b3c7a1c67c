package io.github.hangup.gateway;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import io.github.hangup.HangupSide;
import io.github.hangup.actuate.HangupHistory;
import io.github.hangup.actuate.RecordedHangup;
import io.github.hangup.metrics.HangupMetrics;
import io.github.hangup.support.GatewayApps;
import io.github.hangup.support.HangupMeters;
import io.github.hangup.support.StaleUpstream;
import io.github.hangup.support.StaleUpstream.Ending;
import io.github.hangup.support.TestApps;
import io.micrometer.core.instrument.MeterRegistry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.http.HttpMethod;
import org.springframework.test.web.reactive.server.WebTestClient;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Stale keep-alive connections of Gateway's pool, through a real Gateway application
 * (routes from properties) in front of an upstream that drops every connection it is sent
 * a second request on: a replayable proxied call goes again, once per stale connection,
 * and is counted by its final outcome; any other call is an honest 502 marked as found on
 * a reused connection; a route with Gateway's own {@code Retry} filter is left to that
 * filter.
 */
@Tag("gateway")
class GatewayStaleConnectionTests {

	private static final int CALLS = 4;

	private StaleUpstream upstream;

	private ConfigurableApplicationContext gateway;

	@AfterEach
	void stop() throws Exception {
		if (this.gateway != null) {
			this.gateway.close();
		}
		if (this.upstream != null) {
			this.upstream.close();
		}
	}

	@ParameterizedTest(name = "{0}")
	@EnumSource(Ending.class)
	void replayableProxiedCallsOnAStaleConnectionSucceedAfterOneRetryEach(Ending ending) throws Exception {
		start(ending);
		WebTestClient client = client();
		for (int i = 0; i < CALLS; i++) {
			client.get().uri("/item").exchange().expectStatus().isOk().expectBody(String.class).isEqualTo("ok");
			client.method(HttpMethod.DELETE)
				.uri("/item")
				.exchange()
				.expectStatus()
				.isOk()
				.expectBody(String.class)
				.isEqualTo("ok");
			client.post()
				.uri("/item")
				.header("Idempotency-Key", "k" + i)
				.exchange()
				.expectStatus()
				.isOk()
				.expectBody(String.class)
				.isEqualTo("ok");
		}
		// Every call but the very first reused the one pooled connection, found it stale
		// and went again on a new one.
		assertThat(this.upstream.killed()).isEqualTo(3 * CALLS - 1);
		assertThat(this.upstream.answered("GET") + this.upstream.answered("DELETE") + this.upstream.answered("POST"))
			.isEqualTo(3 * CALLS);
		assertThat(retries()).isEqualTo(Map.of("method=GET,reason=STALE_CONNECTION,upstream=stale", (double) CALLS - 1,
				"method=DELETE,reason=STALE_CONNECTION,upstream=stale", (double) CALLS,
				"method=POST,reason=STALE_CONNECTION,upstream=stale", (double) CALLS));
		assertThat(HangupMeters.counts(registry(), HangupMetrics.CLIENT_HANGUPS)).isEmpty();
		assertThat(HangupMeters.counts(registry(), HangupMetrics.SERVER_HANGUPS)).isEmpty();
	}

	@ParameterizedTest(name = "{0}")
	@EnumSource(Ending.class)
	void postOnAStaleConnectionIsAnHonest502MarkedStaleAndReachesTheUpstreamOnce(Ending ending) throws Exception {
		start(ending);
		WebTestClient client = client();
		client.get().uri("/item").exchange().expectStatus().isOk().expectBody(String.class).isEqualTo("ok");
		client.post()
			.uri("/item")
			.exchange()
			.expectStatus()
			.isEqualTo(502)
			.expectBody()
			.jsonPath("$.hangup")
			.isEqualTo("UPSTREAM_RESET");
		assertThat(this.upstream.received("POST")).isOne();
		assertThat(retries()).isEmpty();
		// Diagnosed: the call went out on a reused pooled connection.
		HangupMeters.awaitCounts(registry(), HangupMetrics.CLIENT_HANGUPS,
				Map.of("connection=REUSED,kind=UPSTREAM_RESET,method=POST,phase=BEFORE_RESPONSE,upstream=stale", 1L),
				"connection", "kind", "method", "phase", "upstream");
		// How long it sat idle in Gateway's pool is not known, and not made up.
		RecordedHangup outbound = this.gateway.getBean(HangupHistory.class)
			.recent()
			.stream()
			.filter((hangup) -> hangup.side() == HangupSide.OUTBOUND)
			.findFirst()
			.orElseThrow();
		assertThat(outbound.connection()).isEqualTo("REUSED");
		assertThat(outbound.connectionRequests()).isOne();
		assertThat(outbound.connectionIdleMillis()).isNull();
		assertThat(outbound.explanation()).contains("closed this connection while it sat idle");
	}

	@Test
	void aRouteWithGatewaysRetryFilterIsLeftToIt() throws Exception {
		start(Ending.FIN);
		WebTestClient client = client();
		for (int i = 0; i < CALLS; i++) {
			client.get().uri("/retried/item").exchange().expectStatus().isOk().expectBody(String.class).isEqualTo("ok");
		}
		// Gateway's Retry filter sent each stale call again; Hangup did not add its own
		// retries, and counted the attempts that failed, each a call of its own.
		assertThat(this.upstream.killed()).isEqualTo(CALLS - 1);
		assertThat(retries()).isEmpty();
		HangupMeters.awaitClientHangups(registry(),
				Map.of("kind=UPSTREAM_RESET,method=GET,phase=BEFORE_RESPONSE,upstream=retried", (long) CALLS - 1));
	}

	@Test
	void retryingCanBeTurnedOff() throws Exception {
		start(Ending.FIN, "hangup.client.retry-stale-connections=false");
		WebTestClient client = client();
		client.get().uri("/item").exchange().expectStatus().isOk().expectBody(String.class).isEqualTo("ok");
		client.get()
			.uri("/item")
			.exchange()
			.expectStatus()
			.isEqualTo(502)
			.expectBody()
			.jsonPath("$.hangup")
			.isEqualTo("UPSTREAM_RESET");
		assertThat(retries()).isEmpty();
	}

	/**
	 * Gateway's pool holds one connection, so that every call after the first reuses it
	 * (with more, a call could find a new one while the last call's is not back yet).
	 */
	private void start(Ending ending, String... properties) throws Exception {
		this.upstream = new StaleUpstream(Duration.ZERO, ending, false);
		String target = this.upstream.baseUrl();
		List<String> all = new java.util.ArrayList<>(List.of(properties));
		all.add("spring.cloud.gateway.server.webflux.httpclient.pool.type=FIXED");
		all.add("spring.cloud.gateway.server.webflux.httpclient.pool.max-connections=1");
		all.add("management.endpoints.web.exposure.include=hangups");
		this.gateway = GatewayApps.start(Object.class, List
			.of("retried|" + target + "|Path=/retried/**|StripPrefix=1,Retry=2|", "stale|" + target + "|Path=/**||"),
				all.toArray(String[]::new));
	}

	private WebTestClient client() {
		return WebTestClient.bindToServer()
			.baseUrl("http://127.0.0.1:" + TestApps.port(this.gateway))
			.responseTimeout(Duration.ofSeconds(10))
			.build();
	}

	private MeterRegistry registry() {
		return this.gateway.getBean(MeterRegistry.class);
	}

	private Map<String, Double> retries() {
		return HangupMeters.counters(registry(), HangupMetrics.CLIENT_RETRIES);
	}

}
