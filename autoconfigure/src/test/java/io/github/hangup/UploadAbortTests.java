package io.github.hangup;

import java.time.Duration;
import java.util.Map;

import io.github.hangup.client.OutboundCalls;
import io.github.hangup.metrics.HangupMetrics;
import io.github.hangup.server.HangupWebFilter;
import io.github.hangup.support.HangupMeters;
import io.github.hangup.support.ProxyUnderTest;
import io.github.hangup.support.RawHttpClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.netty.ByteBufFlux;
import reactor.netty.http.HttpProtocol;
import reactor.netty.http.client.HttpClient;

import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.core.env.Environment;
import org.springframework.http.server.reactive.ServerHttpRequest;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.reactive.function.BodyInserters;
import org.springframework.web.reactive.function.client.WebClient;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A client that leaves in the middle of its upload, whose body the proxy streams to the
 * upstream, is a client cancel on both meters and in the log: never the upstream's fault,
 * whichever error reaches the exchange first.
 */
@ExtendWith(OutputCaptureExtension.class)
class UploadAbortTests {

	private static final int DECLARED = 1024 * 1024;

	private static final int SENT = 20 * 1024;

	private ProxyUnderTest app;

	@BeforeEach
	void start() throws Exception {
		this.app = ProxyUnderTest.start(UploadController.class, "server.http2.enabled=true");
	}

	@AfterEach
	void stop() throws Exception {
		this.app.close();
	}

	@Test
	void uploadCutByAClosedConnectionIsAClientCancel(CapturedOutput output) throws Exception {
		try (RawHttpClient client = startUpload()) {
			// close() sends FIN
		}
		assertClientCancel(output);
	}

	@Test
	void uploadCutByAResetConnectionIsAClientCancel(CapturedOutput output) throws Exception {
		startUpload().reset();
		assertClientCancel(output);
	}

	@Test
	void uploadCutByAnHttp2StreamResetIsAClientCancel(CapturedOutput output) {
		HttpClient h2c = HttpClient.create().protocol(HttpProtocol.H2C).baseUrl("http://127.0.0.1:" + this.app.port());
		Flux<byte[]> body = Flux.concat(Flux.just(new byte[SENT]), Flux.never());
		Disposable upload = h2c.headers((headers) -> headers.set("Content-Length", DECLARED))
			.post()
			.uri("/upload")
			.send(ByteBufFlux.fromInbound(body))
			.responseContent()
			.subscribe();
		this.app.upstream().awaitReceived("/hang", 1);
		// Disposing an HTTP/2 request resets its stream (RST_STREAM); the connection
		// stays.
		upload.dispose();
		assertClientCancel(output);
	}

	private RawHttpClient startUpload() throws Exception {
		RawHttpClient client = new RawHttpClient(this.app.port(), Duration.ofSeconds(10));
		client.send("POST", "/upload", "Content-Type: application/octet-stream", "Content-Length: " + DECLARED);
		client.write(new byte[SENT]);
		this.app.upstream().awaitReceived("/hang", 1);
		return client;
	}

	private void assertClientCancel(CapturedOutput output) {
		this.app.upstream().awaitPeerClosed("/hang", 1);
		HangupMeters.awaitCounts(this.app.registry(), HangupMetrics.SERVER_HANGUPS,
				Map.of("kind=CLIENT_CANCEL,method=POST,phase=BEFORE_RESPONSE,uri=/upload", 1L));
		HangupMeters.awaitClientHangups(this.app.registry(), Map.of(
				"kind=CLIENT_CANCEL,method=POST,phase=BEFORE_RESPONSE,upstream=127.0.0.1:" + this.app.upstream().port(),
				1L));
		HangupMeters.awaitCounts(this.app.registry(), "http.server.requests", Map.of("hangup=CLIENT_CANCEL", 1L),
				"hangup");
		HangupMeters.awaitCounts(this.app.registry(), "http.client.requests", Map.of("hangup=CLIENT_CANCEL", 1L),
				"hangup");
		await().atMost(Duration.ofSeconds(10))
			.until(() -> this.app.proxy().getBean(OutboundCalls.class).inFlight() == 0);
		await().atMost(Duration.ofSeconds(10))
			.until(() -> this.app.proxy().getBean(HangupWebFilter.class).openScopes() == 0);
		assertThat(output.getOut() + output.getErr()).doesNotContain("UPSTREAM_RESET")
			.doesNotContain(" WARN ")
			.doesNotContain(" ERROR ");
	}

	/**
	 * Streams the request body to the upstream as it arrives, as every WebFlux proxy
	 * does.
	 */
	@RestController
	static class UploadController {

		private final WebClient webClient;

		UploadController(WebClient.Builder builder, Environment environment) {
			this.webClient = ProxyUnderTest.upstreamClient(builder, environment);
		}

		@PostMapping("/upload")
		Mono<String> upload(ServerHttpRequest request) {
			return this.webClient.post()
				.uri("/hang")
				.body(BodyInserters.fromDataBuffers(request.getBody()))
				.retrieve()
				.bodyToMono(String.class);
		}

	}

}
