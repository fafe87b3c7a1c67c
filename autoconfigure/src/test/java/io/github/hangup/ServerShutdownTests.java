package io.github.hangup;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import io.github.hangup.metrics.HangupMetrics;
import io.github.hangup.support.FaultyUpstream;
import io.github.hangup.support.HangupMeters;
import io.github.hangup.support.ProxyUnderTest;
import io.github.hangup.support.RawHttpClient;
import io.github.hangup.support.TestApps;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.core.env.Environment;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.reactive.function.client.WebClient;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Requests still running when a graceful shutdown times out are closed by the server:
 * that is the application's doing, not its clients'. They are counted as server closes,
 * their upstream calls are stopped, and one INFO line says how many there were.
 */
@ExtendWith(OutputCaptureExtension.class)
class ServerShutdownTests {

	private static final int STREAMS = 5;

	private final List<RawHttpClient> clients = new ArrayList<>();

	private FaultyUpstream upstream;

	@AfterEach
	void stop() throws Exception {
		for (RawHttpClient client : this.clients) {
			client.close();
		}
		this.upstream.close();
	}

	@Test
	void requestsClosedByAShutdownAreServerClosesNotClientCancels(CapturedOutput output) throws Exception {
		this.upstream = new FaultyUpstream();
		ConfigurableApplicationContext proxy = TestApps.start(StreamingController.class,
				"test.upstream=" + this.upstream.baseUrl(), "server.shutdown=graceful",
				"spring.lifecycle.timeout-per-shutdown-phase=2s");
		MeterRegistry registry = proxy.getBean(MeterRegistry.class);
		int port = TestApps.port(proxy);
		for (int i = 0; i < STREAMS; i++) {
			RawHttpClient client = open(port, "/events");
			assertThat(client.readHead().status()).isEqualTo(200);
			String first = new String(client.readBytes("c\r\ndata:first\n\n\r\n".length()), StandardCharsets.US_ASCII);
			assertThat(first).contains("data:first");
		}
		RawHttpClient slow = open(port, "/slow");
		this.upstream.awaitReceived("/sse", STREAMS);
		this.upstream.awaitReceived("/hang", 1);
		proxy.close();
		this.upstream.awaitPeerClosed("/sse", STREAMS);
		this.upstream.awaitPeerClosed("/hang", 1);
		HangupMeters.awaitCounts(registry, HangupMetrics.SERVER_HANGUPS,
				Map.of("kind=SERVER_CLOSE,method=GET,phase=DURING_RESPONSE,uri=/events", (long) STREAMS,
						"kind=SERVER_CLOSE,method=GET,phase=BEFORE_RESPONSE,uri=/slow", 1L));
		String upstreamTag = ",upstream=127.0.0.1:" + this.upstream.port();
		HangupMeters.awaitClientHangups(registry,
				Map.of("kind=SERVER_CLOSE,method=GET,phase=DURING_RESPONSE" + upstreamTag, (long) STREAMS,
						"kind=SERVER_CLOSE,method=GET,phase=BEFORE_RESPONSE" + upstreamTag, 1L));
		for (RawHttpClient stream : this.clients.subList(0, STREAMS)) {
			// Cut without the final chunk: the client sees the stream did not end
			// normally.
			RawHttpClient.Rest rest = stream.readRest();
			assertThat(rest.ending()).isNotEqualTo(RawHttpClient.Ending.STALLED);
			assertThat(rest.text()).doesNotContain("0\r\n\r\n");
		}
		HangupMeters.awaitCounts(registry, "http.server.requests", Map.of("hangup=SERVER_CLOSE", (long) STREAMS + 1),
				"hangup");
		// Its client is still there: it gets an honest answer it can retry elsewhere.
		RawHttpClient.Head head = slow.readHead();
		assertThat(head.status()).isEqualTo(503);
		assertThat(head.header("Connection")).isEqualTo("close");
		assertThat(slow.readRest().text()).contains("\"hangup\":\"SERVER_CLOSE\"");
		assertThat(output.getOut()).containsOnlyOnce("Shutdown closed 6 requests still in flight")
			.doesNotContain("CLIENT_CANCEL");
	}

	private RawHttpClient open(int port, String path) throws Exception {
		RawHttpClient client = new RawHttpClient(port, Duration.ofSeconds(10));
		this.clients.add(client);
		return client.send("GET", path);
	}

	/**
	 * Relays an event stream that never ends, and a call that is never answered.
	 */
	@RestController
	static class StreamingController {

		/**
		 * A registry that stays open through the shutdown, as a backend that outlives the
		 * application would see it: Boot closes its registries when the context starts
		 * closing, before the requests still in flight are closed.
		 */
		@Bean(destroyMethod = "")
		static SimpleMeterRegistry survivingMeterRegistry() {
			return new SimpleMeterRegistry() {

				@Override
				public void close() {
				}

			};
		}

		private final WebClient webClient;

		StreamingController(WebClient.Builder builder, Environment environment) {
			this.webClient = ProxyUnderTest.upstreamClient(builder, environment);
		}

		@GetMapping(path = "/events", produces = "text/event-stream")
		Flux<String> events() {
			return this.webClient.get().uri("/sse").retrieve().bodyToFlux(String.class);
		}

		@GetMapping("/slow")
		Mono<String> slow() {
			// An application that takes a moment to give up (a fallback, a last log
			// line): its answer must still reach the client before the server stops.
			return this.webClient.get()
				.uri("/hang")
				.retrieve()
				.bodyToMono(String.class)
				.onErrorResume((ex) -> Mono.delay(Duration.ofMillis(300)).then(Mono.error(ex)));
		}

	}

}
