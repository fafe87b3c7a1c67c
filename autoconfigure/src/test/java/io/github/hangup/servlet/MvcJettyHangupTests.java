package io.github.hangup.servlet;

import java.io.IOException;
import java.time.Duration;
import java.util.Map;

import io.github.hangup.HangupObservations;
import io.github.hangup.metrics.HangupMetrics;
import io.github.hangup.support.FaultyUpstream;
import io.github.hangup.support.HangupMeters;
import io.github.hangup.support.RawHttpClient;
import io.github.hangup.support.RawHttpClient.Head;
import io.github.hangup.support.RawHttpClient.Rest;
import io.github.hangup.support.ServletRelay;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.boot.web.server.context.WebServerApplicationContext;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The core of the hang-up matrix on Jetty: the application of
 * {@link MvcHangupIntegrationTests}, run by the {@code jetty-test} execution, whose class
 * path has Boot's Jetty module in place of its Tomcat module. Healthy calls, an upstream
 * that closes without answering, one that resets, one slower than the read timeout and
 * one that refuses connections, one that stalls mid-body, and a client leaving
 * mid-response, through {@code RestClient} and {@code RestTemplate}.
 */
@Tag("jetty")
@ExtendWith(OutputCaptureExtension.class)
class MvcJettyHangupTests {

	private static final Duration READ_TIMEOUT = Duration.ofSeconds(10);

	private static final int refusedPort = FaultyUpstream.refusedPort();

	@RegisterExtension
	static final ServletRelay relay = ServletRelay.of(MvcHangupIntegrationTests.RelayController.class,
			"test.refused=http://127.0.0.1:" + refusedPort, "spring.http.clients.read-timeout=1s");

	@Test
	void applicationRunsOnJetty() {
		assertThat(((WebServerApplicationContext) relay.app()).getWebServer().getClass().getName()).contains("Jetty");
	}

	@ParameterizedTest
	@ValueSource(strings = { "rest-client", "rest-template" })
	void healthyCallIsRelayedAndRecordsNothing(String client) throws Exception {
		try (RawHttpClient raw = new RawHttpClient(relay.port(), READ_TIMEOUT)) {
			Head head = raw.send("GET", "/" + client + "/ok", "Connection: close").readHead();
			assertThat(head.status()).isEqualTo(200);
			assertThat(raw.readRest().text()).contains("hello");
		}
		HangupMeters.awaitCounts(relay.registry(), "http.server.requests",
				Map.of("hangup=NONE,outcome=SUCCESS,status=200,uri=/" + client + "/{path}", 1L), HangupObservations.KEY,
				"outcome", "status", "uri");
		HangupMeters.awaitCounts(relay.registry(), HangupMetrics.SERVER_HANGUPS, Map.of());
		HangupMeters.awaitClientHangups(relay.registry(), Map.of());
	}

	@ParameterizedTest
	@ValueSource(strings = { "rest-client", "rest-template" })
	void upstreamClosingWithoutAnAnswerIsAnswered502AndCountedOnceOnEachSide(String client) throws Exception {
		assertAnswered("/" + client + "/close", "/" + client + "/{path}", 502, "UPSTREAM_RESET",
				relay.upstream().port());
	}

	@ParameterizedTest
	@ValueSource(strings = { "rest-client", "rest-template" })
	void upstreamResetIsAnswered502AndCountedOnceOnEachSide(String client) throws Exception {
		assertAnswered("/" + client + "/reset", "/" + client + "/{path}", 502, "UPSTREAM_RESET",
				relay.upstream().port());
	}

	@ParameterizedTest
	@ValueSource(strings = { "rest-client", "rest-template" })
	void upstreamSlowerThanTheReadTimeoutIsAnswered504AndCountedOnceOnEachSide(String client) throws Exception {
		assertAnswered("/" + client + "/hang", "/" + client + "/{path}", 504, "UPSTREAM_TIMEOUT",
				relay.upstream().port());
	}

	@ParameterizedTest
	@ValueSource(strings = { "rest-client", "rest-template" })
	void refusedConnectionIsAnswered502AndCountedOnceOnEachSide(String client) throws Exception {
		assertAnswered("/" + client + "-refused/ok", "/" + client + "-refused/{path}", 502, "UPSTREAM_UNREACHABLE",
				refusedPort);
	}

	@ParameterizedTest
	@ValueSource(strings = { "rest-client", "rest-template" })
	void upstreamStallingMidBodyLeavesTheCommittedResponseIncompleteAndIsCountedOnceOnEachSide(String client,
			CapturedOutput output) throws Exception {
		Head head;
		Rest rest;
		try (RawHttpClient raw = new RawHttpClient(relay.port(), READ_TIMEOUT)) {
			head = raw.send("GET", "/" + client + "-relay/stall-mid-body").readHead();
			rest = raw.readRest();
		}
		assertThat(head.status()).isEqualTo(200);
		assertThat(rest.bytes()).hasSizeGreaterThanOrEqualTo(FaultyUpstream.SENT_LENGTH);
		// Whatever Jetty does with the failed request, the client never gets a complete
		// body.
		assertThat(isCompleteChunkedBody(rest.bytes())).isFalse();
		HangupMeters.awaitCounts(relay.registry(), HangupMetrics.SERVER_HANGUPS,
				Map.of("kind=UPSTREAM_TIMEOUT,method=GET,phase=DURING_RESPONSE,uri=/" + client + "-relay/{path}", 1L));
		HangupMeters.awaitClientHangups(relay.registry(), Map.of(
				"kind=UPSTREAM_TIMEOUT,method=GET,phase=DURING_RESPONSE,upstream=127.0.0.1:" + relay.upstream().port(),
				1L));
		// Hangup cut it: Jetty does not log the failure as its own (a WARN line with a
		// stack trace); Hangup's one line says what happened.
		assertThat(output.getAll()).doesNotContain(" ERROR ").doesNotContainPattern(" WARN [^\\n]*o\\.e\\.jetty");
		assertThat(output).containsOnlyOnce("Hang-up UPSTREAM_TIMEOUT");
	}

	@ParameterizedTest
	@ValueSource(strings = { "rest-client", "rest-template" })
	void clientLeavingMidResponseIsCountedOnceAsAClientCancelWithoutAWarning(String client, CapturedOutput output)
			throws Exception {
		try (RawHttpClient raw = new RawHttpClient(relay.port(), READ_TIMEOUT)) {
			Head head = raw.send("GET", "/" + client + "-relay/big").readHead();
			assertThat(head.status()).isEqualTo(200);
			// Leaves with megabytes still to come: Jetty finds it gone at a write.
			raw.reset();
		}
		HangupMeters.awaitCounts(relay.registry(), HangupMetrics.SERVER_HANGUPS,
				Map.of("kind=CLIENT_CANCEL,method=GET,phase=DURING_RESPONSE,uri=/" + client + "-relay/{path}", 1L));
		HangupMeters.awaitCounts(relay.registry(), "http.server.requests",
				Map.of("hangup=CLIENT_CANCEL,uri=/" + client + "-relay/{path}", 1L), HangupObservations.KEY, "uri");
		assertThat(output).doesNotContain(" ERROR ").doesNotContain(" WARN ");
	}

	private static boolean isCompleteChunkedBody(byte[] bytes) {
		try {
			RawHttpClient.payloadOfChunked(bytes);
			return true;
		}
		catch (AssertionError ex) {
			return false;
		}
	}

	private static void assertAnswered(String path, String route, int status, String kind, int upstreamPort)
			throws IOException {
		Head head;
		String body;
		try (RawHttpClient raw = new RawHttpClient(relay.port(), READ_TIMEOUT)) {
			head = raw.send("GET", path, "Connection: close").readHead();
			body = raw.readRest().text();
		}
		assertThat(head.status()).isEqualTo(status);
		assertThat(head.header("content-type")).isEqualTo("application/problem+json");
		assertThat(body).contains("\"hangup\":\"" + kind + "\"")
			.contains("\"status\":" + status)
			.doesNotContain("127.0.0.1");
		HangupMeters.awaitCounts(relay.registry(), HangupMetrics.SERVER_HANGUPS,
				Map.of("kind=" + kind + ",method=GET,phase=BEFORE_RESPONSE,uri=" + route, 1L));
		HangupMeters.awaitClientHangups(relay.registry(),
				Map.of("kind=" + kind + ",method=GET,phase=BEFORE_RESPONSE,upstream=127.0.0.1:" + upstreamPort, 1L));
		HangupMeters.awaitCounts(relay.registry(), "http.server.requests",
				Map.of("hangup=" + kind + ",outcome=SERVER_ERROR,status=" + status + ",uri=" + route, 1L),
				HangupObservations.KEY, "outcome", "status", "uri");
		HangupMeters.awaitCounts(relay.registry(), "http.client.requests", Map.of("hangup=" + kind, 1L),
				HangupObservations.KEY);
	}

}
