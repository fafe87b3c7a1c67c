package io.github.hangup.gateway;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import io.github.hangup.HangupObservations;
import io.github.hangup.metrics.HangupMetrics;
import io.github.hangup.metrics.InFlightMetrics;
import io.github.hangup.server.HangupWebFilter;
import io.github.hangup.support.FaultyUpstream;
import io.github.hangup.support.GatewayApps;
import io.github.hangup.support.HangupMeters;
import io.github.hangup.support.RawHttpClient;
import io.github.hangup.support.RawHttpClient.Ending;
import io.github.hangup.support.RawHttpClient.Head;
import io.github.hangup.support.RawHttpClient.Rest;
import io.github.hangup.support.TestApps;
import io.micrometer.core.instrument.MeterRegistry;
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
 * The hang-up matrix through a real Spring Cloud Gateway application (routes from
 * properties) in front of a raw-socket upstream that misbehaves on purpose. Each test
 * asserts what the client sees, the exact counts on both of Hangup's meters and on Boot's
 * {@code http.server.requests}, and that the upstream saw every cancel.
 */
@Tag("gateway")
@ExtendWith(OutputCaptureExtension.class)
class GatewayHangupIntegrationTests {

	private static final Duration READ_TIMEOUT = Duration.ofSeconds(10);

	private static final String SERVER_REQUESTS = "http.server.requests";

	private static FaultyUpstream upstream;

	private static int refusedPort;

	private static ConfigurableApplicationContext gateway;

	private static MeterRegistry registry;

	private static int port;

	@BeforeAll
	static void start() throws Exception {
		upstream = new FaultyUpstream();
		refusedPort = FaultyUpstream.refusedPort();
		String target = upstream.baseUrl();
		gateway = GatewayApps.start(RoutingConfigurations.LookupBeforeRouting.class, List.of(
				// Gateway's global response timeout applies.
				"timed|" + target + "|Path=/timed/**|StripPrefix=1|",
				// The route's own response timeout applies.
				"quick|" + target + "|Path=/quick/**|StripPrefix=1|200",
				"refused|http://127.0.0.1:" + refusedPort + "|Path=/refused/**||",
				// Two retries, on errors (their cause an IOException or Gateway's
				// timeout).
				"retried|" + target + "|Path=/retried/**|StripPrefix=1,Retry=2|200",
				// No timeout at all (-1): a client leaving ends these calls, nothing
				// else.
				"faulty|" + target + "|Path=/**||-1"),
				"spring.cloud.gateway.server.webflux.httpclient.response-timeout=300ms");
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
	void healthyRequestIsProxiedAndRecordsNothing() throws Exception {
		try (RawHttpClient client = new RawHttpClient(port, READ_TIMEOUT)) {
			Head head = client.send("GET", "/ok").readHead();
			assertThat(head.status()).isEqualTo(200);
			assertThat(new String(client.readBytes(5))).isEqualTo("hello");
		}
		assertServerRequest(HangupObservations.NONE, "200", "SUCCESS");
		await().atMost(Duration.ofSeconds(10)).until(() -> gateway.getBean(HangupWebFilter.class).openScopes() == 0);
		HangupMeters.awaitCounts(registry, HangupMetrics.SERVER_HANGUPS, Map.of());
		HangupMeters.awaitClientHangups(registry, Map.of());
	}

	@Test
	void clientCancelBeforeResponseIsCountedOnceAndCancelsTheProxiedCall() throws Exception {
		// Bound again: the meters were cleared before this test.
		gateway.getBean(InFlightMetrics.class).bindTo(registry);
		int before = upstream.peerClosed("/hang");
		try (RawHttpClient client = new RawHttpClient(port, READ_TIMEOUT)) {
			int received = upstream.received("/hang");
			client.send("GET", "/hang");
			upstream.awaitReceived("/hang", received + 1);
			// The proxied call counts among the outbound calls in flight while it waits.
			assertThat(registry.get(HangupMetrics.CLIENT_CALLS_ACTIVE).gauge().value()).isOne();
		}
		upstream.awaitPeerClosed("/hang", before + 1);
		assertInbound("CLIENT_CANCEL", "BEFORE_RESPONSE");
		assertOutbound("CLIENT_CANCEL", "BEFORE_RESPONSE", "faulty");
		assertServerRequest("CLIENT_CANCEL", "UNKNOWN", "UNKNOWN");
		await().atMost(Duration.ofSeconds(10))
			.until(() -> registry.get(HangupMetrics.CLIENT_CALLS_ACTIVE).gauge().value() == 0);
	}

	@Test
	void clientCancelAlsoStopsAWebClientCallOfAGatewayFilterForTheSameRequest() throws Exception {
		int before = upstream.peerClosed("/hang");
		try (RawHttpClient client = new RawHttpClient(port, READ_TIMEOUT)) {
			int received = upstream.received("/hang");
			client.send("GET", "/ok", "X-Lookup: " + upstream.baseUrl() + "/hang");
			upstream.awaitReceived("/hang", received + 1);
		}
		upstream.awaitPeerClosed("/hang", before + 1);
		assertInbound("CLIENT_CANCEL", "BEFORE_RESPONSE");
		// The filter's call, not Gateway's, which had not started.
		assertOutbound("CLIENT_CANCEL", "BEFORE_RESPONSE", "127.0.0.1:" + upstream.port());
		assertServerRequest("CLIENT_CANCEL", "UNKNOWN", "UNKNOWN");
	}

	@Test
	void clientCancelMidStreamIsCountedOnceAndCancelsTheProxiedCall() throws Exception {
		Head head = cancelAfterFirstChunk("/stream", "6\r\nchunk\n\r\n");
		assertThat(head.header("transfer-encoding")).isEqualTo("chunked");
	}

	@Test
	void clientCancelDuringServerSentEventsIsCountedOnceAndCancelsTheProxiedCall() throws Exception {
		Head head = cancelAfterFirstChunk("/sse", "c\r\ndata:first\n\n\r\n");
		assertThat(head.header("content-type")).startsWith("text/event-stream");
	}

	private Head cancelAfterFirstChunk(String path, String firstChunk) throws Exception {
		int before = upstream.peerClosed(path);
		Head head;
		try (RawHttpClient client = new RawHttpClient(port, READ_TIMEOUT)) {
			head = client.send("GET", path).readHead();
			assertThat(head.status()).isEqualTo(200);
			assertThat(new String(client.readBytes(firstChunk.length()))).isEqualTo(firstChunk);
		}
		upstream.awaitPeerClosed(path, before + 1);
		assertInbound("CLIENT_CANCEL", "DURING_RESPONSE");
		assertOutbound("CLIENT_CANCEL", "DURING_RESPONSE", "faulty");
		assertServerRequest("CLIENT_CANCEL", "200", "SUCCESS");
		return head;
	}

	@Test
	void gatewaysGlobalResponseTimeoutIsAnUpstreamTimeoutAnswered504() throws Exception {
		assertTimedOut("/timed/hang", "timed");
	}

	@Test
	void routesOwnResponseTimeoutIsAnUpstreamTimeoutAnswered504() throws Exception {
		assertTimedOut("/quick/hang", "quick");
	}

	private void assertTimedOut(String path, String route) throws Exception {
		int before = upstream.peerClosed("/hang");
		assertAnswered(path, 504, "UPSTREAM_TIMEOUT");
		upstream.awaitPeerClosed("/hang", before + 1);
		assertInbound("UPSTREAM_TIMEOUT", "BEFORE_RESPONSE");
		assertOutbound("UPSTREAM_TIMEOUT", "BEFORE_RESPONSE", route);
		assertServerRequest("UPSTREAM_TIMEOUT", "504", "SERVER_ERROR");
	}

	@Test
	void everyAttemptOfARetryFilterIsACallOfItsOwn() throws Exception {
		int before = upstream.received("/reset");
		assertAnswered("/retried/reset", 502, "UPSTREAM_RESET");
		assertThat(upstream.received("/reset")).isEqualTo(before + 3);
		assertInbound("UPSTREAM_RESET", "BEFORE_RESPONSE");
		HangupMeters.awaitClientHangups(registry,
				Map.of("kind=UPSTREAM_RESET,method=GET,phase=BEFORE_RESPONSE,upstream=retried", 3L));
		assertServerRequest("UPSTREAM_RESET", "502", "SERVER_ERROR");
	}

	@Test
	void gatewaysResponseTimeoutIsStillRetriedByARetryFilter() throws Exception {
		int before = upstream.peerClosed("/hang");
		assertAnswered("/retried/hang", 504, "UPSTREAM_TIMEOUT");
		upstream.awaitPeerClosed("/hang", before + 3);
		assertInbound("UPSTREAM_TIMEOUT", "BEFORE_RESPONSE");
		HangupMeters.awaitClientHangups(registry,
				Map.of("kind=UPSTREAM_TIMEOUT,method=GET,phase=BEFORE_RESPONSE,upstream=retried", 3L));
		assertServerRequest("UPSTREAM_TIMEOUT", "504", "SERVER_ERROR");
	}

	@Test
	void clientLeavingMidUploadIsAClientCancelNotAnUpstreamFailure() throws Exception {
		int before = upstream.peerClosed("/hang");
		try (RawHttpClient client = new RawHttpClient(port, READ_TIMEOUT)) {
			int received = upstream.received("/hang");
			client.send("POST", "/hang", "Transfer-Encoding: chunked", "Content-Type: application/octet-stream");
			client.write("5\r\nfirst\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
			upstream.awaitReceived("/hang", received + 1);
			client.reset();
		}
		upstream.awaitPeerClosed("/hang", before + 1);
		HangupMeters.awaitCounts(registry, HangupMetrics.SERVER_HANGUPS,
				Map.of("kind=CLIENT_CANCEL,method=POST,phase=BEFORE_RESPONSE,uri=UNKNOWN", 1L));
		HangupMeters.awaitClientHangups(registry,
				Map.of("kind=CLIENT_CANCEL,method=POST,phase=BEFORE_RESPONSE,upstream=faulty", 1L));
		HangupMeters.awaitCounts(registry, SERVER_REQUESTS, Map.of("hangup=CLIENT_CANCEL,method=POST", 1L),
				HangupObservations.KEY, "method");
	}

	@Test
	void upstreamClosingWithoutAnswerIsAnswered502() throws Exception {
		assertAnswered("/close", 502, "UPSTREAM_RESET");
		assertInbound("UPSTREAM_RESET", "BEFORE_RESPONSE");
		assertOutbound("UPSTREAM_RESET", "BEFORE_RESPONSE", "faulty");
		assertServerRequest("UPSTREAM_RESET", "502", "SERVER_ERROR");
	}

	@Test
	void upstreamResettingBeforeAnswerIsAnswered502() throws Exception {
		assertAnswered("/reset", 502, "UPSTREAM_RESET");
		assertInbound("UPSTREAM_RESET", "BEFORE_RESPONSE");
		assertOutbound("UPSTREAM_RESET", "BEFORE_RESPONSE", "faulty");
		assertServerRequest("UPSTREAM_RESET", "502", "SERVER_ERROR");
	}

	@Test
	void upstreamResettingMidContentLengthBodyTruncatesTheResponse() throws Exception {
		try (RawHttpClient client = new RawHttpClient(port, READ_TIMEOUT)) {
			Head head = client.send("GET", "/reset-mid-body").readHead();
			assertThat(head.status()).isEqualTo(200);
			assertThat(head.header("content-length")).isEqualTo(String.valueOf(FaultyUpstream.DECLARED_LENGTH));
			Rest rest = client.readRest();
			assertThat(rest.ending()).isNotEqualTo(Ending.STALLED);
			assertThat(rest.bytes()).hasSizeLessThan(FaultyUpstream.DECLARED_LENGTH);
		}
		assertInbound("UPSTREAM_RESET", "DURING_RESPONSE");
		assertOutbound("UPSTREAM_RESET", "DURING_RESPONSE", "faulty");
		assertServerRequest("UPSTREAM_RESET", "200", "UNKNOWN");
	}

	@Test
	void upstreamResettingMidChunkedBodyTruncatesTheResponse() throws Exception {
		try (RawHttpClient client = new RawHttpClient(port, READ_TIMEOUT)) {
			Head head = client.send("GET", "/reset-mid-chunked").readHead();
			assertThat(head.status()).isEqualTo(200);
			assertThat(head.header("transfer-encoding")).isEqualTo("chunked");
			Rest rest = client.readRest();
			assertThat(rest.ending()).isNotEqualTo(Ending.STALLED);
			assertThat(rest.text()).doesNotContain("0\r\n\r\n");
		}
		assertInbound("UPSTREAM_RESET", "DURING_RESPONSE");
		assertOutbound("UPSTREAM_RESET", "DURING_RESPONSE", "faulty");
		assertServerRequest("UPSTREAM_RESET", "200", "UNKNOWN");
	}

	@Test
	void refusedConnectionIsAnswered502() throws Exception {
		assertAnswered("/refused/anything", 502, "UPSTREAM_UNREACHABLE");
		assertInbound("UPSTREAM_UNREACHABLE", "BEFORE_RESPONSE");
		assertOutbound("UPSTREAM_UNREACHABLE", "BEFORE_RESPONSE", "refused");
		assertServerRequest("UPSTREAM_UNREACHABLE", "502", "SERVER_ERROR");
	}

	@Test
	void statusOutsideHttpsRangeIsAnsweredAsProtocolErrorInsteadOfRelayed() throws Exception {
		assertAnswered("/malformed/status-999", 502, "UPSTREAM_PROTOCOL_ERROR");
		assertInbound("UPSTREAM_PROTOCOL_ERROR", "BEFORE_RESPONSE");
		assertOutbound("UPSTREAM_PROTOCOL_ERROR", "BEFORE_RESPONSE", "faulty");
		assertServerRequest("UPSTREAM_PROTOCOL_ERROR", "502", "SERVER_ERROR");
	}

	@Test
	void replyThatIsNotHttpIsAnswered502() throws Exception {
		assertAnswered("/malformed/not-http", 502, "UPSTREAM_PROTOCOL_ERROR");
		assertInbound("UPSTREAM_PROTOCOL_ERROR", "BEFORE_RESPONSE");
		assertOutbound("UPSTREAM_PROTOCOL_ERROR", "BEFORE_RESPONSE", "faulty");
		assertServerRequest("UPSTREAM_PROTOCOL_ERROR", "502", "SERVER_ERROR");
	}

	@Test
	void replyThatIsNotHttpWhileTheRequestBodyStillStreamsIsAnswered502() throws Exception {
		// The upstream answers once it has the request's head, while the body still
		// streams from the client: the reply is no less the upstream's fault.
		try (RawHttpClient client = new RawHttpClient(port, READ_TIMEOUT)) {
			client.send("POST", "/malformed/not-http", "Transfer-Encoding: chunked", "Content-Type: text/plain")
				.write("5\r\nhello\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
			Head head = client.readHead();
			assertThat(head.status()).isEqualTo(502);
			assertThat(new String(client.readBytes(Integer.parseInt(head.header("content-length")))))
				.contains("\"hangup\":\"UPSTREAM_PROTOCOL_ERROR\"");
		}
		HangupMeters.awaitCounts(registry, HangupMetrics.SERVER_HANGUPS,
				Map.of("kind=UPSTREAM_PROTOCOL_ERROR,method=POST,phase=BEFORE_RESPONSE,uri=UNKNOWN", 1L));
		HangupMeters.awaitClientHangups(registry,
				Map.of("kind=UPSTREAM_PROTOCOL_ERROR,method=POST,phase=BEFORE_RESPONSE,upstream=faulty", 1L));
	}

	@Test
	void upstreamHangupIsLoggedOnceAtWarnNamingTheRoute(CapturedOutput output) throws Exception {
		int before = output.length();
		assertAnswered("/timed/hang", 504, "UPSTREAM_TIMEOUT");
		assertInbound("UPSTREAM_TIMEOUT", "BEFORE_RESPONSE");
		assertServerRequest("UPSTREAM_TIMEOUT", "504", "SERVER_ERROR");
		String logged = output.toString().substring(before);
		assertThat(logged.lines().filter((line) -> line.contains(" WARN ") || line.contains(" ERROR "))).singleElement()
			.asString()
			.contains("Hang-up UPSTREAM_TIMEOUT side=INBOUND phase=BEFORE_RESPONSE method=GET")
			.contains("upstream=timed");
		assertThat(logged).doesNotContain("\tat ");
	}

	private void assertAnswered(String path, int status, String kind) throws Exception {
		try (RawHttpClient client = new RawHttpClient(port, READ_TIMEOUT)) {
			Head head = client.send("GET", path).readHead();
			assertThat(head.status()).isEqualTo(status);
			assertThat(head.header("content-type")).isEqualTo("application/problem+json");
			String body = new String(client.readBytes(Integer.parseInt(head.header("content-length"))));
			assertThat(body).contains("\"status\":" + status)
				.contains("\"hangup\":\"" + kind + "\"")
				.doesNotContain("127.0.0.1")
				.doesNotContain(String.valueOf(upstream.port()))
				.doesNotContain("Exception");
		}
	}

	private static void assertInbound(String kind, String phase) {
		HangupMeters.awaitCounts(registry, HangupMetrics.SERVER_HANGUPS,
				Map.of("kind=" + kind + ",method=GET,phase=" + phase + ",uri=UNKNOWN", 1L));
	}

	private static void assertOutbound(String kind, String phase, String route) {
		HangupMeters.awaitClientHangups(registry,
				Map.of("kind=" + kind + ",method=GET,phase=" + phase + ",upstream=" + route, 1L));
	}

	private static void assertServerRequest(String hangup, String status, String outcome) {
		HangupMeters.awaitCounts(registry, SERVER_REQUESTS,
				Map.of("hangup=" + hangup + ",method=GET,outcome=" + outcome + ",status=" + status, 1L),
				HangupObservations.KEY, "method", "outcome", "status");
	}

	static class NoBeans {

	}

}
