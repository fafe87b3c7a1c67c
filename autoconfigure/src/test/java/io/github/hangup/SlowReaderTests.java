package io.github.hangup;

import java.time.Duration;
import java.util.Map;

import io.github.hangup.metrics.HangupMetrics;
import io.github.hangup.support.FaultyUpstream;
import io.github.hangup.support.HangupMeters;
import io.github.hangup.support.ProxyUnderTest;
import io.github.hangup.support.RawHttpClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import reactor.core.publisher.Flux;

import org.springframework.core.env.Environment;
import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.reactive.function.client.WebClient;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A client that stops reading a download holds the upstream back through backpressure:
 * the upstream is not silent, we are not listening. The response timeout must not fire
 * then, however long the pause, and the download completes once the client reads again.
 */
class SlowReaderTests {

	private static final Duration RESPONSE_TIMEOUT = Duration.ofMillis(500);

	private ProxyUnderTest app;

	@BeforeEach
	void start() throws Exception {
		this.app = ProxyUnderTest.start(DownloadController.class,
				"hangup.client.response-timeout=" + RESPONSE_TIMEOUT.toMillis() + "ms");
	}

	@AfterEach
	void stop() throws Exception {
		this.app.close();
	}

	@ParameterizedTest(name = "{0}")
	@ValueSource(strings = { "big", "big-chunked" })
	void pausedReaderLongerThanTheResponseTimeoutGetsTheWholeBody(String path) throws Exception {
		try (RawHttpClient client = new RawHttpClient(this.app.port(), Duration.ofSeconds(10))) {
			client.send("GET", "/download/" + path, "Connection: close");
			RawHttpClient.Head head = client.readHead();
			assertThat(head.status()).isEqualTo(200);
			// The proxy relays the body as it comes, chunked.
			assertThat(head.header("Transfer-Encoding")).isEqualTo("chunked");
			// The client reads nothing more: wait until every buffer on the way is full
			// and the upstream has been held back for three response timeouts.
			long[] last = { -1 };
			await().atMost(Duration.ofSeconds(20))
				.pollInterval(Duration.ofMillis(50))
				.during(RESPONSE_TIMEOUT.multipliedBy(3))
				.until(() -> {
					long now = this.app.upstream().written("/" + path);
					boolean held = now == last[0] && now < FaultyUpstream.BIG_LENGTH;
					last[0] = now;
					return held;
				});
			RawHttpClient.Rest rest = client.readRest();
			assertThat(rest.ending()).isEqualTo(RawHttpClient.Ending.CLOSED);
			assertThat(RawHttpClient.payloadOfChunked(rest.bytes())).isEqualTo(FaultyUpstream.BIG_LENGTH);
		}
		assertThat(this.app.upstream().answered("/" + path)).isEqualTo(1);
		HangupMeters.awaitCounts(this.app.registry(), "http.server.requests", Map.of("hangup=NONE", 1L), "hangup");
		HangupMeters.awaitCounts(this.app.registry(), "http.client.requests", Map.of("hangup=NONE", 1L), "hangup");
		assertThat(HangupMeters.counts(this.app.registry(), HangupMetrics.CLIENT_HANGUPS)).isEmpty();
		assertThat(HangupMeters.counts(this.app.registry(), HangupMetrics.SERVER_HANGUPS)).isEmpty();
	}

	/**
	 * Relays the upstream's body as it arrives.
	 */
	@RestController
	static class DownloadController {

		private final WebClient webClient;

		DownloadController(WebClient.Builder builder, Environment environment) {
			this.webClient = ProxyUnderTest.upstreamClient(builder, environment);
		}

		@GetMapping("/download/{path}")
		Flux<DataBuffer> download(@PathVariable String path) {
			return this.webClient.get().uri("/" + path).retrieve().bodyToFlux(DataBuffer.class);
		}

	}

}
