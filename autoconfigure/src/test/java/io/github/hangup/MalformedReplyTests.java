package io.github.hangup;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import io.github.hangup.actuate.HangupHistory;
import io.github.hangup.actuate.RecordedHangup;
import io.github.hangup.metrics.HangupMetrics;
import io.github.hangup.support.FaultyUpstream;
import io.github.hangup.support.HangupMeters;
import io.github.hangup.support.ProxyUnderTest;
import io.github.hangup.support.RawHttpClient;
import io.micrometer.core.instrument.MeterRegistry;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.core.env.Environment;
import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.http.ResponseEntity;
import org.springframework.http.server.reactive.ServerHttpRequest;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.reactive.function.client.WebClient;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * An upstream reply that is not valid HTTP is an upstream protocol error: answered 502
 * with a problem body before the response, cut visibly during it, counted on both meters,
 * logged as one WARN line without a stack trace and explained by what was wrong with it.
 */
@ExtendWith(OutputCaptureExtension.class)
class MalformedReplyTests {

	private static ProxyUnderTest app;

	@BeforeAll
	static void start() throws Exception {
		app = ProxyUnderTest.start(RelayController.class, "management.endpoints.web.exposure.include=hangups");
	}

	@AfterAll
	static void stop() throws Exception {
		app.close();
	}

	@BeforeEach
	void clearMeters() {
		app.registry().clear();
	}

	static Stream<Arguments> malformedReplies() {
		Map<String, String> reasons = Map.ofEntries(Map.entry("not-http", "not an HTTP reply"),
				Map.entry("status-line-then-close", "closed in the middle of its header"),
				Map.entry("half-header-then-close", "closed in the middle of its header"),
				Map.entry("status-099", "invalid status code"), Map.entry("status-abc", "invalid status code"),
				Map.entry("status-999", "invalid status code"),
				Map.entry("status-101", "an informational (1xx) status as the response"),
				Map.entry("duplicate-content-length", "duplicate Content-Length"),
				Map.entry("comma-content-length", "duplicate Content-Length"),
				Map.entry("negative-content-length", "invalid Content-Length"),
				Map.entry("huge-content-length", "invalid Content-Length"),
				Map.entry("content-length-and-chunked", "Content-Length together with Transfer-Encoding"),
				Map.entry("huge-header", "header too large"), Map.entry("many-headers", "header too large"),
				Map.entry("bad-first-chunk-size", "invalid chunk size"), Map.entry("nul-in-header", "invalid header"),
				Map.entry("lf-only", "lines not ended by CRLF (not HTTP/1.1, or HTTP/2 frames)"),
				Map.entry("http2-frames", "lines not ended by CRLF (not HTTP/1.1, or HTTP/2 frames)"));
		assertThat(reasons.keySet()).isEqualTo(FaultyUpstream.MALFORMED.keySet());
		return FaultyUpstream.MALFORMED.keySet().stream().map((name) -> Arguments.of(name, reasons.get(name)));
	}

	@ParameterizedTest(name = "{0}")
	@MethodSource("malformedReplies")
	void malformedReplyIsAnsweredWithACounted502(String name, String reason, CapturedOutput output) throws Exception {
		MeterRegistry registry = app.registry();
		try (RawHttpClient client = new RawHttpClient(app.port(), Duration.ofSeconds(10))) {
			RawHttpClient.Head head = client.send("GET", "/malformed/" + name).readHead();
			assertThat(head.status()).isEqualTo(502);
			assertThat(head.header("Content-Type")).isEqualTo("application/problem+json");
			String body = new String(client.readBytes(Integer.parseInt(head.header("Content-Length"))));
			assertThat(body).contains("\"hangup\":\"UPSTREAM_PROTOCOL_ERROR\"").doesNotContain("127.0.0.1");
		}
		// The body is where a bad first chunk size is found: the call had its response.
		String outboundPhase = name.equals("bad-first-chunk-size") ? "DURING_RESPONSE" : "BEFORE_RESPONSE";
		HangupMeters.awaitCounts(registry, HangupMetrics.SERVER_HANGUPS,
				Map.of("kind=UPSTREAM_PROTOCOL_ERROR,method=GET,phase=BEFORE_RESPONSE,uri=/malformed/{name}", 1L));
		HangupMeters.awaitClientHangups(registry,
				Map.of("kind=UPSTREAM_PROTOCOL_ERROR,method=GET,phase=" + outboundPhase + "," + app.upstreamTag(), 1L));
		HangupMeters.awaitCounts(registry, "http.server.requests",
				Map.of("hangup=UPSTREAM_PROTOCOL_ERROR,status=502", 1L), "hangup", "status");
		assertThat(lines(output, " WARN ")).singleElement()
			.asString()
			.contains("Hang-up UPSTREAM_PROTOCOL_ERROR side=INBOUND")
			.contains("status=502")
			.contains("reason=\"" + reason + "\"");
		assertThat(lines(output, " ERROR ")).isEmpty();
		assertThat(output.getOut()).doesNotContain("\tat ");
		RecordedHangup inbound = app.proxy().getBean(HangupHistory.class).recent().get(0);
		assertThat(inbound.explanation()).contains("was not valid HTTP: " + reason + "; the client got 502");
	}

	@Test
	void malformedChunkMidBodyCutsTheResponseVisibly(CapturedOutput output) throws Exception {
		MeterRegistry registry = app.registry();
		try (RawHttpClient client = new RawHttpClient(app.port(), Duration.ofSeconds(10))) {
			RawHttpClient.Head head = client.send("GET", "/malformed-mid-chunked").readHead();
			assertThat(head.status()).isEqualTo(200);
			RawHttpClient.Rest rest = client.readRest();
			assertThat(rest.ending()).isNotEqualTo(RawHttpClient.Ending.STALLED);
			assertThat(rest.text()).contains("chunk").doesNotContain("0\r\n\r\n");
		}
		HangupMeters.awaitCounts(registry, HangupMetrics.SERVER_HANGUPS,
				Map.of("kind=UPSTREAM_PROTOCOL_ERROR,method=GET,phase=DURING_RESPONSE,uri=/malformed-mid-chunked", 1L));
		HangupMeters.awaitClientHangups(registry,
				Map.of("kind=UPSTREAM_PROTOCOL_ERROR,method=GET,phase=DURING_RESPONSE," + app.upstreamTag(), 1L));
		assertThat(lines(output, " WARN ")).singleElement().asString().contains("reason=\"invalid chunk size\"");
		assertThat(lines(output, " ERROR ")).isEmpty();
	}

	@Test
	void replyThatIsNotHttpWhileTheRequestBodyStillStreamsIsAnswered502() throws Exception {
		// The upstream answers once it has the request's head, while the body still
		// streams from the client: the reply is no less the upstream's fault.
		MeterRegistry registry = app.registry();
		try (RawHttpClient client = new RawHttpClient(app.port(), Duration.ofSeconds(10))) {
			client.send("POST", "/malformed/not-http", "Transfer-Encoding: chunked", "Content-Type: text/plain")
				.write("5\r\nhello\r\n".getBytes(StandardCharsets.US_ASCII));
			RawHttpClient.Head head = client.readHead();
			assertThat(head.status()).isEqualTo(502);
			assertThat(new String(client.readBytes(Integer.parseInt(head.header("Content-Length")))))
				.contains("\"hangup\":\"UPSTREAM_PROTOCOL_ERROR\"");
		}
		HangupMeters.awaitCounts(registry, HangupMetrics.SERVER_HANGUPS,
				Map.of("kind=UPSTREAM_PROTOCOL_ERROR,method=POST,phase=BEFORE_RESPONSE,uri=/malformed/{name}", 1L));
		HangupMeters.awaitClientHangups(registry,
				Map.of("kind=UPSTREAM_PROTOCOL_ERROR,method=POST,phase=BEFORE_RESPONSE," + app.upstreamTag(), 1L));
	}

	private static List<String> lines(CapturedOutput output, String level) {
		return output.getOut().lines().filter((line) -> line.contains(level)).toList();
	}

	/**
	 * Relays the upstream's status, content type and body as they come.
	 */
	@RestController
	static class RelayController {

		private final WebClient webClient;

		RelayController(WebClient.Builder builder, Environment environment) {
			this.webClient = ProxyUnderTest.upstreamClient(builder, environment);
		}

		@GetMapping({ "/malformed/{name}", "/malformed-mid-chunked" })
		Mono<ResponseEntity<Flux<DataBuffer>>> relay(ServerHttpRequest request) {
			return this.webClient.get().uri(request.getPath().value()).retrieve().toEntityFlux(DataBuffer.class);
		}

		/** Streams the request body to the upstream as it comes. */
		@PostMapping("/malformed/{name}")
		Mono<ResponseEntity<Flux<DataBuffer>>> relayUpload(ServerHttpRequest request) {
			return this.webClient.post()
				.uri(request.getPath().value())
				.body(request.getBody(), DataBuffer.class)
				.retrieve()
				.toEntityFlux(DataBuffer.class);
		}

	}

}
