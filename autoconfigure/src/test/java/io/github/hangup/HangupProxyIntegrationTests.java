package io.github.hangup;

import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import io.github.hangup.client.HangupClientAttributes;
import io.github.hangup.metrics.HangupMetrics;
import io.github.hangup.server.HangupWebFilter;
import io.github.hangup.support.FaultyUpstream;
import io.github.hangup.support.HangupMeters;
import io.github.hangup.support.RawHttpClient;
import io.github.hangup.support.TestApps;
import io.github.hangup.support.RawHttpClient.Ending;
import io.github.hangup.support.RawHttpClient.Head;
import io.github.hangup.support.RawHttpClient.Rest;
import io.micrometer.core.instrument.MeterRegistry;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import reactor.core.publisher.Mono;

import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.core.env.Environment;
import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.http.server.reactive.ServerHttpRequest;
import org.springframework.http.server.reactive.ServerHttpResponse;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.reactive.function.client.WebClient;
import org.springframework.web.server.ServerWebExchange;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The hang-up matrix through a real proxy application on Reactor Netty, in front of a
 * raw-socket upstream that misbehaves on purpose. Each test asserts what the client sees
 * and the exact counts on both meters.
 */
@ExtendWith(OutputCaptureExtension.class)
class HangupProxyIntegrationTests {

	private static final Duration READ_TIMEOUT = Duration.ofSeconds(10);

	private static final String SERVER_REQUESTS = "http.server.requests";

	private static final String CLIENT_REQUESTS = "http.client.requests";

	private static FaultyUpstream upstream;

	private static int refusedPort;

	private static ConfigurableApplicationContext proxy;

	private static MeterRegistry registry;

	private static int port;

	@BeforeAll
	static void start() throws Exception {
		upstream = new FaultyUpstream();
		refusedPort = FaultyUpstream.refusedPort();
		proxy = TestApps.start(ProxyController.class, "test.upstream=" + upstream.baseUrl(),
				"test.refused-port=" + refusedPort, "hangup.client.response-timeout=20s");
		registry = proxy.getBean(MeterRegistry.class);
		port = TestApps.port(proxy);
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
	void healthyRequestIsProxiedAndRecordsNothing() throws Exception {
		try (RawHttpClient client = new RawHttpClient(port, READ_TIMEOUT)) {
			Head head = client.send("GET", "/ok").readHead();
			assertThat(head.status()).isEqualTo(200);
			assertThat(new String(client.readBytes(5))).isEqualTo("hello");
		}
		// Once the server has finished the request, nothing was recorded for it, even
		// though the client closed its connection right after the response.
		assertServerRequest(HangupObservations.NONE, "200", "SUCCESS");
		assertClientRequest(HangupObservations.NONE, "200", "SUCCESS");
		await().atMost(Duration.ofSeconds(10)).until(() -> proxy.getBean(HangupWebFilter.class).openScopes() == 0);
		HangupMeters.awaitCounts(registry, HangupMetrics.SERVER_HANGUPS, Map.of());
		HangupMeters.awaitClientHangups(registry, Map.of());
	}

	@Test
	void clientCancelBeforeResponseIsCountedOnceAndCancelsUpstream() throws Exception {
		int before = upstream.peerClosed("/hang");
		try (RawHttpClient client = new RawHttpClient(port, READ_TIMEOUT)) {
			int received = upstream.received("/hang");
			client.send("GET", "/hang");
			upstream.awaitReceived("/hang", received + 1);
		}
		upstream.awaitPeerClosed("/hang", before + 1);
		assertInbound("CLIENT_CANCEL", "BEFORE_RESPONSE");
		assertOutbound("CLIENT_CANCEL", "BEFORE_RESPONSE");
		assertServerRequest("CLIENT_CANCEL", "UNKNOWN", "UNKNOWN");
		assertClientRequest("CLIENT_CANCEL", "CLIENT_ERROR", "UNKNOWN");
	}

	@Test
	void clientCancelMidStreamIsCountedOnceAndCancelsUpstream() throws Exception {
		Head head = cancelAfterFirstChunk("/stream", "6\r\nchunk\n\r\n");
		assertThat(head.header("transfer-encoding")).isEqualTo("chunked");
	}

	@Test
	void clientCancelDuringServerSentEventsIsCountedOnceAndCancelsUpstream() throws Exception {
		Head head = cancelAfterFirstChunk("/sse", "c\r\ndata:first\n\n\r\n");
		assertThat(head.header("content-type")).startsWith("text/event-stream");
	}

	private Head cancelAfterFirstChunk(String path, String firstChunk) throws Exception {
		int before = upstream.peerClosed(path);
		Head head;
		try (RawHttpClient client = new RawHttpClient(port, READ_TIMEOUT)) {
			head = client.send("GET", path).readHead();
			assertThat(head.status()).isEqualTo(200);
			// The first chunk arrives while the upstream is still streaming: nothing
			// buffers.
			assertThat(new String(client.readBytes(firstChunk.length()))).isEqualTo(firstChunk);
		}
		upstream.awaitPeerClosed(path, before + 1);
		assertInbound("CLIENT_CANCEL", "DURING_RESPONSE");
		assertOutbound("CLIENT_CANCEL", "DURING_RESPONSE");
		// Reactor Netty completes the write quietly when the client leaves mid-body:
		// WebFlux sees the 200 it sent as a success, only the hangup key tells.
		assertServerRequest("CLIENT_CANCEL", "200", "SUCCESS");
		assertClientRequestEndedWithItsHeaders();
		return head;
	}

	@Test
	void upstreamSlowerThanResponseTimeoutIsAnswered504AndCancelled() throws Exception {
		int before = upstream.peerClosed("/hang");
		try (RawHttpClient client = new RawHttpClient(port, READ_TIMEOUT)) {
			Head head = client.send("GET", "/hang", "X-Response-Timeout: 300").readHead();
			assertThat(head.status()).isEqualTo(504);
			assertProblem(client, head, 504, "UPSTREAM_TIMEOUT");
		}
		upstream.awaitPeerClosed("/hang", before + 1);
		assertInbound("UPSTREAM_TIMEOUT", "BEFORE_RESPONSE");
		assertOutbound("UPSTREAM_TIMEOUT", "BEFORE_RESPONSE");
		assertServerRequest("UPSTREAM_TIMEOUT", "504", "SERVER_ERROR");
		assertClientRequest("UPSTREAM_TIMEOUT", "CLIENT_ERROR", "UNKNOWN");
	}

	@Test
	void upstreamStallingMidBodyTruncatesTheResponse() throws Exception {
		assertContentLengthBodyTruncated("/stall-mid-body", "X-Response-Timeout: 300");
		assertInbound("UPSTREAM_TIMEOUT", "DURING_RESPONSE");
		assertOutbound("UPSTREAM_TIMEOUT", "DURING_RESPONSE");
		assertServerRequestTruncated("UPSTREAM_TIMEOUT");
		assertClientRequestEndedWithItsHeaders();
	}

	@Test
	void upstreamClosingWithoutAnswerIsAnswered502() throws Exception {
		assertAnswered("/close", 502, "UPSTREAM_RESET");
		assertInbound("UPSTREAM_RESET", "BEFORE_RESPONSE");
		assertOutbound("UPSTREAM_RESET", "BEFORE_RESPONSE");
		assertServerRequest("UPSTREAM_RESET", "502", "SERVER_ERROR");
		assertClientRequest("UPSTREAM_RESET", "CLIENT_ERROR", "UNKNOWN");
	}

	@Test
	void upstreamResettingBeforeAnswerIsAnswered502() throws Exception {
		assertAnswered("/reset", 502, "UPSTREAM_RESET");
		assertInbound("UPSTREAM_RESET", "BEFORE_RESPONSE");
		assertOutbound("UPSTREAM_RESET", "BEFORE_RESPONSE");
		assertServerRequest("UPSTREAM_RESET", "502", "SERVER_ERROR");
		assertClientRequest("UPSTREAM_RESET", "CLIENT_ERROR", "UNKNOWN");
	}

	@Test
	void upstreamResettingMidContentLengthBodyTruncatesTheResponse() throws Exception {
		assertContentLengthBodyTruncated("/reset-mid-body");
		assertInbound("UPSTREAM_RESET", "DURING_RESPONSE");
		assertOutbound("UPSTREAM_RESET", "DURING_RESPONSE");
		assertServerRequestTruncated("UPSTREAM_RESET");
		assertClientRequestEndedWithItsHeaders();
	}

	@Test
	void upstreamResettingMidChunkedBodyTruncatesTheResponse() throws Exception {
		try (RawHttpClient client = new RawHttpClient(port, READ_TIMEOUT)) {
			Head head = client.send("GET", "/reset-mid-chunked").readHead();
			assertThat(head.status()).isEqualTo(200);
			assertThat(head.header("transfer-encoding")).isEqualTo("chunked");
			Rest rest = client.readRest();
			assertThat(rest.ending()).isNotEqualTo(Ending.STALLED);
			// The last-chunk marker would make the truncated body look complete.
			assertThat(rest.text()).doesNotContain("0\r\n\r\n");
		}
		assertInbound("UPSTREAM_RESET", "DURING_RESPONSE");
		assertOutbound("UPSTREAM_RESET", "DURING_RESPONSE");
		assertServerRequestTruncated("UPSTREAM_RESET");
		assertClientRequestEndedWithItsHeaders();
	}

	@Test
	void upstreamResetIsLoggedOnceAtWarnWithoutStackTrace(CapturedOutput output) throws Exception {
		int before = output.length();
		assertAnswered("/reset", 502, "UPSTREAM_RESET");
		assertInbound("UPSTREAM_RESET", "BEFORE_RESPONSE");
		assertServerRequest("UPSTREAM_RESET", "502", "SERVER_ERROR");
		assertClientRequest("UPSTREAM_RESET", "CLIENT_ERROR", "UNKNOWN");
		String logged = output.toString().substring(before);
		assertThat(warningsAndErrors(logged)).singleElement()
			.asString()
			.contains("io.github.hangup.Hangups")
			.contains("Hang-up UPSTREAM_RESET side=INBOUND phase=BEFORE_RESPONSE method=GET route=/**");
		assertThat(logged).doesNotContain("HttpClientConnect").doesNotContain("\tat ");
	}

	@Test
	void clientCancelIsNotLoggedAboveDebug(CapturedOutput output) throws Exception {
		int before = output.length();
		int closed = upstream.peerClosed("/stream");
		try (RawHttpClient client = new RawHttpClient(port, READ_TIMEOUT)) {
			client.send("GET", "/stream").readHead();
		}
		upstream.awaitPeerClosed("/stream", closed + 1);
		assertInbound("CLIENT_CANCEL", "DURING_RESPONSE");
		assertServerRequest("CLIENT_CANCEL", "200", "SUCCESS");
		assertClientRequestEndedWithItsHeaders();
		assertThat(warningsAndErrors(output.toString().substring(before))).isEmpty();
	}

	@Test
	void refusedConnectionIsAnswered502() throws Exception {
		assertAnswered("/refused/anything", 502, "UPSTREAM_UNREACHABLE");
		assertInbound("UPSTREAM_UNREACHABLE", "BEFORE_RESPONSE");
		assertOutbound("UPSTREAM_UNREACHABLE", "BEFORE_RESPONSE", "127.0.0.1:" + refusedPort);
		assertServerRequest("UPSTREAM_UNREACHABLE", "502", "SERVER_ERROR");
		assertClientRequest("127.0.0.1", "UPSTREAM_UNREACHABLE", "CLIENT_ERROR", "UNKNOWN");
	}

	@Test
	void unknownHostIsAnswered502() throws Exception {
		assertAnswered("/unknown/anything", 502, "UPSTREAM_UNREACHABLE");
		assertInbound("UPSTREAM_UNREACHABLE", "BEFORE_RESPONSE");
		assertOutbound("UPSTREAM_UNREACHABLE", "BEFORE_RESPONSE", "hangup-test.invalid:80");
		assertServerRequest("UPSTREAM_UNREACHABLE", "502", "SERVER_ERROR");
		assertClientRequest("hangup-test.invalid", "UPSTREAM_UNREACHABLE", "CLIENT_ERROR", "UNKNOWN");
	}

	@Test
	void outboundHangupsDuringTheResponseAreCountedByKindOnHangupsMeterAndOnceOnBootsClientTimer() throws Exception {
		assertContentLengthBodyTruncated("/stall-mid-body", "X-Response-Timeout: 300");
		assertContentLengthBodyTruncated("/reset-mid-body");
		int before = upstream.peerClosed("/stream");
		try (RawHttpClient client = new RawHttpClient(port, READ_TIMEOUT)) {
			client.send("GET", "/stream").readHead();
		}
		upstream.awaitPeerClosed("/stream", before + 1);
		HangupMeters.awaitCounts(registry, HangupMetrics.CLIENT_HANGUPS,
				Map.of("kind=UPSTREAM_TIMEOUT,phase=DURING_RESPONSE", 1L, "kind=UPSTREAM_RESET,phase=DURING_RESPONSE",
						1L, "kind=CLIENT_CANCEL,phase=DURING_RESPONSE", 1L),
				HangupMetrics.KIND, HangupMetrics.PHASE);
		// WebClient ends a call's observation when the response headers arrive, before
		// these calls hung up: each is one sample there, without a kind (as the README
		// says).
		HangupMeters.awaitCounts(registry, CLIENT_REQUESTS, Map.of("hangup=NONE", 3L), HangupObservations.KEY);
	}

	private static List<String> warningsAndErrors(String logged) {
		return logged.lines().filter((line) -> line.contains(" WARN ") || line.contains(" ERROR ")).toList();
	}

	/**
	 * The response started with the upstream's declared length, then ended (not stalled)
	 * short of it: the client sees a truncated body, never a complete-looking one.
	 */
	private static void assertContentLengthBodyTruncated(String path, String... headers) throws Exception {
		try (RawHttpClient client = new RawHttpClient(port, READ_TIMEOUT)) {
			Head head = client.send("GET", path, headers).readHead();
			assertThat(head.status()).isEqualTo(200);
			assertThat(head.header("content-length")).isEqualTo(String.valueOf(FaultyUpstream.DECLARED_LENGTH));
			Rest rest = client.readRest();
			assertThat(rest.ending()).isNotEqualTo(Ending.STALLED);
			assertThat(rest.bytes()).hasSizeLessThan(FaultyUpstream.DECLARED_LENGTH);
		}
	}

	private void assertAnswered(String path, int status, String kind) throws Exception {
		try (RawHttpClient client = new RawHttpClient(port, READ_TIMEOUT)) {
			Head head = client.send("GET", path).readHead();
			assertThat(head.status()).isEqualTo(status);
			assertProblem(client, head, status, kind);
		}
	}

	private void assertProblem(RawHttpClient client, Head head, int status, String kind) throws Exception {
		assertThat(head.header("content-type")).isEqualTo("application/problem+json");
		String body = new String(client.readBytes(Integer.parseInt(head.header("content-length"))));
		assertThat(body).contains("\"status\":" + status)
			.contains("\"hangup\":\"" + kind + "\"")
			.contains("\"title\":")
			.contains("\"detail\":")
			.doesNotContain("127.0.0.1")
			.doesNotContain(String.valueOf(upstream.port()))
			.doesNotContain(String.valueOf(refusedPort))
			.doesNotContain("invalid")
			.doesNotContain("Exception");
	}

	private void assertInbound(String kind, String phase) {
		HangupMeters.awaitCounts(registry, HangupMetrics.SERVER_HANGUPS,
				Map.of("kind=" + kind + ",method=GET,phase=" + phase + ",uri=/**", 1L));
	}

	private void assertOutbound(String kind, String phase) {
		assertOutbound(kind, phase, "127.0.0.1:" + upstream.port());
	}

	private void assertOutbound(String kind, String phase, String upstreamTag) {
		HangupMeters.awaitClientHangups(registry,
				Map.of("kind=" + kind + ",method=GET,phase=" + phase + ",upstream=" + upstreamTag, 1L));
	}

	/**
	 * Boot's server timer counted the scenario's one request once, with the status and
	 * outcome WebFlux saw and the hangup key.
	 */
	private static void assertServerRequest(String hangup, String status, String outcome) {
		HangupMeters.awaitCounts(registry, SERVER_REQUESTS,
				Map.of("hangup=" + hangup + ",method=GET,outcome=" + outcome + ",status=" + status + ",uri=/**", 1L),
				HangupObservations.KEY, "method", "outcome", "status", "uri");
	}

	/**
	 * The upstream failed after the 200 was sent: the aborted connection makes the
	 * outcome unknown, the hangup key says why.
	 */
	private static void assertServerRequestTruncated(String hangup) {
		assertServerRequest(hangup, "200", "UNKNOWN");
	}

	private static void assertClientRequest(String hangup, String status, String outcome) {
		assertClientRequest("127.0.0.1", hangup, status, outcome);
	}

	/**
	 * Boot's client timer counted the scenario's one outbound call once.
	 */
	private static void assertClientRequest(String clientName, String hangup, String status, String outcome) {
		HangupMeters.awaitCounts(
				registry, CLIENT_REQUESTS, Map.of("client.name=" + clientName + ",hangup=" + hangup
						+ ",method=GET,outcome=" + outcome + ",status=" + status, 1L),
				"client.name", HangupObservations.KEY, "method", "outcome", "status");
	}

	/**
	 * WebClient's observation stops when the response headers arrive: a call that hung up
	 * in its body is counted once, as the 200 it got. Its hangup key is checked by
	 * {@link #outboundHangupsDuringTheResponseAreTaggedWithTheirKindOnBootsClientTimer}.
	 */
	private static void assertClientRequestEndedWithItsHeaders() {
		HangupMeters.awaitCounts(registry, CLIENT_REQUESTS,
				Map.of("client.name=127.0.0.1,method=GET,outcome=SUCCESS,status=200", 1L), "client.name", "method",
				"outcome", "status");
	}

	/**
	 * A minimal streaming reverse proxy, as an application would write it.
	 */
	@RestController
	static class ProxyController {

		private final WebClient webClient;

		private final String upstream;

		private final int refusedPort;

		ProxyController(WebClient.Builder builder, Environment environment) {
			this.webClient = builder.build();
			this.upstream = environment.getRequiredProperty("test.upstream");
			this.refusedPort = environment.getRequiredProperty("test.refused-port", Integer.class);
		}

		@RequestMapping("/**")
		Mono<Void> proxy(ServerWebExchange exchange) {
			ServerHttpRequest request = exchange.getRequest();
			ServerHttpResponse response = exchange.getResponse();
			String path = request.getURI().getRawPath();
			URI target;
			if (path.startsWith("/refused/")) {
				target = URI.create("http://127.0.0.1:" + this.refusedPort + path);
			}
			else if (path.startsWith("/unknown/")) {
				target = URI.create("http://hangup-test.invalid" + path);
			}
			else {
				target = URI.create(this.upstream + path);
			}
			String timeout = request.getHeaders().getFirst("X-Response-Timeout");
			return this.webClient.method(request.getMethod()).uri(target).attributes((attributes) -> {
				if (timeout != null) {
					HangupClientAttributes.responseTimeout(Duration.ofMillis(Long.parseLong(timeout)))
						.accept(attributes);
				}
			}).exchangeToMono((upstreamResponse) -> {
				response.setStatusCode(upstreamResponse.statusCode());
				response.getHeaders().addAll(upstreamResponse.headers().asHttpHeaders());
				return response.writeAndFlushWith(upstreamResponse.bodyToFlux(DataBuffer.class).map(Mono::just));
			});
		}

	}

}
