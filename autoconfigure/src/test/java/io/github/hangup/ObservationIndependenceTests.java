package io.github.hangup;

import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import io.github.hangup.metrics.HangupMetrics;
import io.github.hangup.server.HangupServerObservationFilter;
import io.github.hangup.support.FaultyUpstream;
import io.github.hangup.support.HangupMeters;
import io.github.hangup.support.RawHttpClient;
import io.github.hangup.support.RawHttpClient.Head;
import io.github.hangup.support.TestApps;
import io.micrometer.core.instrument.MeterRegistry;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.http.server.reactive.HttpHandler;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * How a request ended does not depend on whether its observation is tagged: the same
 * faults through the same proxy, once with the observation filters and once without
 * ({@code hangup.observation.enabled=false}), count the same on
 * {@code http.server.hangups}: the web filter decides how a request ended, the
 * observation filter only reads it.
 */
class ObservationIndependenceTests {

	private static final Duration READ_TIMEOUT = Duration.ofSeconds(10);

	private static FaultyUpstream upstream;

	private static List<ConfigurableApplicationContext> proxies;

	@BeforeAll
	static void start() throws Exception {
		upstream = new FaultyUpstream();
		String[] common = { "test.upstream=" + upstream.baseUrl(), "test.refused-port=" + FaultyUpstream.refusedPort(),
				"hangup.client.response-timeout=20s" };
		proxies = List.of(TestApps.start(HangupProxyIntegrationTests.ProxyController.class, common), TestApps.start(
				HangupProxyIntegrationTests.ProxyController.class, with(common, "hangup.observation.enabled=false")));
		assertThat(proxies.get(0).getBeansOfType(HangupServerObservationFilter.class)).hasSize(1);
		assertThat(proxies.get(1).getBeansOfType(HangupServerObservationFilter.class)).isEmpty();
		// Both see the server's aborts before WebFlux's observation does.
		for (ConfigurableApplicationContext proxy : proxies) {
			assertThat(proxy.getBean(HttpHandler.class).getClass().getName())
				.isEqualTo("io.github.hangup.server.ServerAborts");
		}
	}

	@AfterAll
	static void stop() throws Exception {
		for (ConfigurableApplicationContext proxy : proxies) {
			proxy.close();
		}
		upstream.close();
	}

	@BeforeEach
	void clearMeters() {
		proxies.forEach((proxy) -> proxy.getBean(MeterRegistry.class).clear());
	}

	@Test
	void healthyRequestIsNoHangupWithAndWithoutObservations() throws Exception {
		for (ConfigurableApplicationContext proxy : proxies) {
			try (RawHttpClient client = new RawHttpClient(TestApps.port(proxy), READ_TIMEOUT)) {
				assertThat(client.send("GET", "/ok").readHead().status()).isEqualTo(200);
				assertThat(new String(client.readBytes(5))).isEqualTo("hello");
			}
		}
		assertInbound(Map.of());
	}

	@Test
	void clientLeavingBeforeTheResponseIsTheSameHangupWithAndWithoutObservations() throws Exception {
		for (ConfigurableApplicationContext proxy : proxies) {
			int before = upstream.peerClosed("/hang");
			try (RawHttpClient client = new RawHttpClient(TestApps.port(proxy), READ_TIMEOUT)) {
				int received = upstream.received("/hang");
				client.send("GET", "/hang");
				upstream.awaitReceived("/hang", received + 1);
			}
			upstream.awaitPeerClosed("/hang", before + 1);
		}
		assertInbound(Map.of("kind=CLIENT_CANCEL,method=GET,phase=BEFORE_RESPONSE,uri=/**", 1L));
	}

	@Test
	void clientLeavingMidStreamIsTheSameHangupWithAndWithoutObservations() throws Exception {
		String firstChunk = "6\r\nchunk\n\r\n";
		for (ConfigurableApplicationContext proxy : proxies) {
			int before = upstream.peerClosed("/stream");
			try (RawHttpClient client = new RawHttpClient(TestApps.port(proxy), READ_TIMEOUT)) {
				Head head = client.send("GET", "/stream").readHead();
				assertThat(head.status()).isEqualTo(200);
				assertThat(new String(client.readBytes(firstChunk.length()))).isEqualTo(firstChunk);
			}
			upstream.awaitPeerClosed("/stream", before + 1);
		}
		assertInbound(Map.of("kind=CLIENT_CANCEL,method=GET,phase=DURING_RESPONSE,uri=/**", 1L));
	}

	@Test
	void upstreamResetBeforeTheAnswerIsTheSameHangupWithAndWithoutObservations() throws Exception {
		for (ConfigurableApplicationContext proxy : proxies) {
			try (RawHttpClient client = new RawHttpClient(TestApps.port(proxy), READ_TIMEOUT)) {
				assertThat(client.send("GET", "/reset").readHead().status()).isEqualTo(502);
			}
		}
		assertInbound(Map.of("kind=UPSTREAM_RESET,method=GET,phase=BEFORE_RESPONSE,uri=/**", 1L));
	}

	@Test
	void upstreamResetMidBodyIsTheSameHangupWithAndWithoutObservations() throws Exception {
		for (ConfigurableApplicationContext proxy : proxies) {
			try (RawHttpClient client = new RawHttpClient(TestApps.port(proxy), READ_TIMEOUT)) {
				assertThat(client.send("GET", "/reset-mid-body").readHead().status()).isEqualTo(200);
				assertThat(client.readRest().bytes()).hasSizeLessThan(FaultyUpstream.DECLARED_LENGTH);
			}
		}
		assertInbound(Map.of("kind=UPSTREAM_RESET,method=GET,phase=DURING_RESPONSE,uri=/**", 1L));
	}

	private static void assertInbound(Map<String, Long> expected) {
		for (ConfigurableApplicationContext proxy : proxies) {
			HangupMeters.awaitCounts(proxy.getBean(MeterRegistry.class), HangupMetrics.SERVER_HANGUPS, expected);
		}
	}

	private static String[] with(String[] properties, String property) {
		String[] all = Arrays.copyOf(properties, properties.length + 1);
		all[properties.length] = property;
		return all;
	}

}
