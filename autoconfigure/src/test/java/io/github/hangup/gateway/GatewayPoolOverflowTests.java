package io.github.hangup.gateway;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import io.github.hangup.metrics.HangupMetrics;
import io.github.hangup.support.FaultyUpstream;
import io.github.hangup.support.GatewayApps;
import io.github.hangup.support.HangupMeters;
import io.github.hangup.support.RawHttpClient;
import io.github.hangup.support.RawHttpClient.Head;
import io.github.hangup.support.TestApps;
import io.micrometer.core.instrument.MeterRegistry;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import org.springframework.context.ConfigurableApplicationContext;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Gateway's fixed connection pool full: the call that never left is answered 503 and
 * counted as {@code UPSTREAM_OVERFLOW} under its route.
 */
@Tag("gateway")
class GatewayPoolOverflowTests {

	@Test
	void callThatGotNoPooledConnectionIsAnswered503AndCountedAsOverflow() throws Exception {
		try (FaultyUpstream upstream = new FaultyUpstream()) {
			ConfigurableApplicationContext gateway = GatewayApps.start(GatewayHangupIntegrationTests.NoBeans.class,
					List.of("faulty|" + upstream.baseUrl() + "|Path=/**||"),
					"spring.cloud.gateway.server.webflux.httpclient.pool.type=FIXED",
					"spring.cloud.gateway.server.webflux.httpclient.pool.max-connections=1",
					"spring.cloud.gateway.server.webflux.httpclient.pool.acquire-timeout=200");
			try {
				MeterRegistry registry = gateway.getBean(MeterRegistry.class);
				int port = TestApps.port(gateway);
				int closed = upstream.peerClosed("/hang");
				try (RawHttpClient holder = new RawHttpClient(port, Duration.ofSeconds(10))) {
					holder.send("GET", "/hang");
					upstream.awaitReceived("/hang", 1);
					try (RawHttpClient client = new RawHttpClient(port, Duration.ofSeconds(10))) {
						Head head = client.send("GET", "/ok").readHead();
						assertThat(head.status()).isEqualTo(503);
						assertThat(head.header("retry-after")).isEqualTo("1");
						assertThat(head.header("content-type")).isEqualTo("application/problem+json");
					}
				}
				upstream.awaitPeerClosed("/hang", closed + 1);
				HangupMeters.awaitCounts(registry, HangupMetrics.SERVER_HANGUPS,
						Map.of("kind=UPSTREAM_OVERFLOW,phase=BEFORE_RESPONSE", 1L,
								"kind=CLIENT_CANCEL,phase=BEFORE_RESPONSE", 1L),
						HangupMetrics.KIND, HangupMetrics.PHASE);
				HangupMeters.awaitCounts(registry, HangupMetrics.CLIENT_HANGUPS,
						Map.of("kind=UPSTREAM_OVERFLOW,upstream=faulty", 1L, "kind=CLIENT_CANCEL,upstream=faulty", 1L),
						HangupMetrics.KIND, HangupMetrics.UPSTREAM);
				HangupMeters.awaitCounts(registry, "http.server.requests",
						Map.of("hangup=UPSTREAM_OVERFLOW,status=503", 1L, "hangup=CLIENT_CANCEL,status=UNKNOWN", 1L),
						"hangup", "status");
			}
			finally {
				gateway.close();
			}
		}
	}

}
