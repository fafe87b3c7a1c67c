package io.github.hangup;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import io.github.hangup.metrics.HangupMetrics;
import io.github.hangup.support.HangupMeters;
import io.github.hangup.support.TestApps;
import io.micrometer.core.instrument.MeterRegistry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.netty.DisposableServer;
import reactor.netty.http.server.HttpServer;

import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.core.env.Environment;
import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.core.io.buffer.DataBufferUtils;
import org.springframework.http.HttpHeaders;
import org.springframework.http.MediaType;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.reactive.function.client.WebClient;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Event streams relayed from an upstream that is quiet between events for longer than the
 * response timeout: a stream is not cut for its silences unless a limit of its own is
 * set, while the response timeout still covers the wait for its head.
 */
class StreamingResponseTimeoutTests {

	/** Longer than every timeout set below. */
	private static final Duration QUIET = Duration.ofMillis(1500);

	private DisposableServer upstream;

	private ConfigurableApplicationContext proxy;

	@BeforeEach
	void startUpstream() {
		this.upstream = HttpServer.create()
			.host("127.0.0.1")
			.port(0)
			.route((routes) -> routes
				.get("/events/{type}/{subtype}", (request, response) -> response
					.header(HttpHeaders.CONTENT_TYPE, request.param("type") + "/" + request.param("subtype"))
					.sendString(Flux.concat(Mono.just("data: one\n\n"), Mono.delay(QUIET).thenReturn("data: two\n\n"),
							Mono.delay(QUIET).thenReturn("data: three\n\n")))
					.then())
				.get("/head-late",
						(request, response) -> Mono.delay(QUIET)
							.then(response.header(HttpHeaders.CONTENT_TYPE, "text/event-stream")
								.sendString(Mono.just("data: one\n\n"))
								.then())))
			.bindNow();
	}

	@AfterEach
	void stop() {
		if (this.proxy != null) {
			this.proxy.close();
		}
		this.upstream.disposeNow();
	}

	@Test
	void anEventStreamQuietForLongerThanTheResponseTimeoutRunsToItsEnd() {
		start("hangup.client.response-timeout=500ms");
		assertThat(read("/relay/text/event-stream")).containsExactly("one", "two", "three");
		assertNoHangups();
	}

	@Test
	void aNewlineDelimitedJsonStreamQuietForLongerThanTheResponseTimeoutRunsToItsEnd() {
		start("hangup.client.response-timeout=500ms");
		assertThat(read("/relay/application/x-ndjson")).containsExactly("one", "two", "three");
		assertNoHangups();
	}

	@Test
	void aMediaTypeTheApplicationDeclaresStreamingIsNotCutForItsSilences() {
		start("hangup.client.response-timeout=500ms",
				"hangup.client.streaming-media-types=text/event-stream,application/vnd.feed");
		assertThat(read("/relay/application/vnd.feed")).containsExactly("one", "two", "three");
		assertNoHangups();
	}

	@Test
	void anOrdinaryBodyQuietForLongerThanTheResponseTimeoutIsStillAnUpstreamTimeout() {
		start("hangup.client.response-timeout=500ms");
		assertThat(read("/relay/text/plain")).containsExactly("one");
		assertTimedOut("DURING_RESPONSE");
	}

	@Test
	void aStreamIdleTimeoutCutsAStreamQuietForLonger() {
		start("hangup.client.response-timeout=5s", "hangup.client.stream-idle-timeout=500ms");
		assertThat(read("/relay/text/event-stream")).containsExactly("one");
		assertTimedOut("DURING_RESPONSE");
	}

	@Test
	void theResponseTimeoutStillCoversTheWaitForAStreamsHead() {
		start("hangup.client.response-timeout=500ms");
		assertThat(read("/head-late")).isEmpty();
		assertTimedOut("BEFORE_RESPONSE");
	}

	private void start(String... properties) {
		String[] all = new String[properties.length + 1];
		all[0] = "test.upstream=http://127.0.0.1:" + this.upstream.port();
		System.arraycopy(properties, 0, all, 1, properties.length);
		this.proxy = TestApps.start(RelayController.class, all);
	}

	/**
	 * The data of the events the proxy relays, up to where the stream ended or was cut.
	 */
	private List<String> read(String path) {
		return WebClient.create("http://127.0.0.1:" + TestApps.port(this.proxy))
			.get()
			.uri(path)
			.accept(MediaType.TEXT_EVENT_STREAM)
			.retrieve()
			.bodyToFlux(String.class)
			.onErrorResume((ex) -> Flux.empty())
			.collectList()
			.block(Duration.ofSeconds(20));
	}

	private void assertNoHangups() {
		MeterRegistry registry = this.proxy.getBean(MeterRegistry.class);
		HangupMeters.awaitCounts(registry, "http.server.requests", Map.of("hangup=NONE,status=200", 1L), "hangup",
				"status");
		HangupMeters.awaitClientHangups(registry, Map.of());
		HangupMeters.awaitCounts(registry, HangupMetrics.SERVER_HANGUPS, Map.of());
	}

	private void assertTimedOut(String phase) {
		MeterRegistry registry = this.proxy.getBean(MeterRegistry.class);
		HangupMeters.awaitClientHangups(registry, Map
			.of("kind=UPSTREAM_TIMEOUT,method=GET,phase=" + phase + ",upstream=127.0.0.1:" + this.upstream.port(), 1L));
	}

	/**
	 * Relays the upstream's events as server-sent events.
	 */
	@RestController
	static class RelayController {

		private final WebClient webClient;

		RelayController(WebClient.Builder builder, Environment environment) {
			this.webClient = builder.baseUrl(environment.getRequiredProperty("test.upstream")).build();
		}

		@GetMapping(path = "/relay/{type}/{subtype}", produces = MediaType.TEXT_EVENT_STREAM_VALUE)
		Flux<String> relay(@PathVariable String type, @PathVariable String subtype) {
			return this.webClient.get()
				.uri("/events/{type}/{subtype}", type, subtype)
				.exchangeToFlux((response) -> response.bodyToFlux(DataBuffer.class).map((buffer) -> {
					String text = buffer.toString(StandardCharsets.UTF_8);
					DataBufferUtils.release(buffer);
					return text;
				})
					.flatMapIterable((text) -> List.of(text.split("\n")))
					.filter((line) -> line.startsWith("data: "))
					.map((line) -> line.substring(6)));
		}

		@GetMapping(path = "/head-late", produces = MediaType.TEXT_EVENT_STREAM_VALUE)
		Flux<String> headLate() {
			return this.webClient.get().uri("/head-late").retrieve().bodyToFlux(String.class);
		}

	}

}
