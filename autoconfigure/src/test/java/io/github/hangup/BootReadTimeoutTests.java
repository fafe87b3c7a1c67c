package io.github.hangup;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import io.github.hangup.metrics.HangupMetrics;
import io.github.hangup.support.HangupMeters;
import io.github.hangup.support.RawHttpClient;
import io.github.hangup.support.TestApps;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.handler.codec.http.HttpHeaderNames;
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
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.reactive.function.client.WebClient;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Boot's read timeout, {@code spring.http.clients.read-timeout}, is one timeout with
 * Hangup: Hangup's backpressure-aware response timeout takes the place of the one Boot
 * gives Reactor Netty's connector. A client that pauses reading a download holds a
 * healthy upstream back; it gets the whole body, and nothing is blamed on the upstream.
 * An upstream that is silent still times out.
 */
class BootReadTimeoutTests {

	private static final String BOOT_READ_TIMEOUT = "spring.http.clients.read-timeout=2s";

	/**
	 * Longer than both timeouts: Reactor Netty's read timeout would have cut the body.
	 */
	private static final Duration PAUSE = Duration.ofSeconds(5);

	private NettyUpstream upstream;

	private ConfigurableApplicationContext proxy;

	@BeforeEach
	void startUpstream() {
		this.upstream = new NettyUpstream();
	}

	@AfterEach
	void stop() {
		if (this.proxy != null) {
			this.proxy.close();
		}
		this.upstream.close();
	}

	@Test
	void pausedReaderGetsTheWholeDownloadWithBootsReadTimeoutSet() throws Exception {
		startProxy(BOOT_READ_TIMEOUT);
		assertPausedReaderGetsTheWholeDownload();
	}

	@Test
	void pausedReaderGetsTheWholeDownloadWithBootsAndHangupsTimeoutsSet() throws Exception {
		startProxy(BOOT_READ_TIMEOUT, "hangup.client.response-timeout=3s");
		assertPausedReaderGetsTheWholeDownload();
	}

	@Test
	void silentUpstreamStillTimesOutAtBootsReadTimeout() throws Exception {
		startProxy(BOOT_READ_TIMEOUT);
		assertSilentUpstreamTimesOutAfter(Duration.ofSeconds(2));
	}

	@Test
	void silentUpstreamTimesOutAtHangupsTimeoutNotBootsWhenBothAreSet() throws Exception {
		startProxy(BOOT_READ_TIMEOUT, "hangup.client.response-timeout=3s");
		assertSilentUpstreamTimesOutAfter(Duration.ofSeconds(3));
	}

	private void assertPausedReaderGetsTheWholeDownload() throws Exception {
		try (RawHttpClient client = new RawHttpClient(TestApps.port(this.proxy), Duration.ofSeconds(20))) {
			client.send("GET", "/proxy/download", "Connection: close");
			RawHttpClient.Head head = client.readHead();
			assertThat(head.status()).isEqualTo(200);
			// The client reads nothing more: wait until every buffer on the way is full
			// and the upstream has been held back for longer than either timeout.
			long[] last = { -1 };
			await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(50)).during(PAUSE).until(() -> {
				long now = this.upstream.written();
				boolean held = now == last[0] && now < NettyUpstream.LENGTH;
				last[0] = now;
				return held;
			});
			RawHttpClient.Rest rest = client.readRest();
			assertThat(rest.ending()).isEqualTo(RawHttpClient.Ending.CLOSED);
			assertThat(RawHttpClient.payloadOfChunked(rest.bytes())).isEqualTo(NettyUpstream.LENGTH);
		}
		MeterRegistry registry = this.proxy.getBean(MeterRegistry.class);
		HangupMeters.awaitCounts(registry, "http.server.requests", Map.of("hangup=NONE", 1L), "hangup");
		HangupMeters.awaitCounts(registry, "http.client.requests", Map.of("hangup=NONE", 1L), "hangup");
		assertThat(HangupMeters.counts(registry, HangupMetrics.CLIENT_HANGUPS)).isEmpty();
		assertThat(HangupMeters.counts(registry, HangupMetrics.SERVER_HANGUPS)).isEmpty();
	}

	private void assertSilentUpstreamTimesOutAfter(Duration timeout) throws Exception {
		try (RawHttpClient client = new RawHttpClient(TestApps.port(this.proxy), Duration.ofSeconds(20))) {
			long start = System.nanoTime();
			client.send("GET", "/proxy/silent", "Connection: close");
			RawHttpClient.Head head = client.readHead();
			Duration waited = Duration.ofNanos(System.nanoTime() - start);
			assertThat(head.status()).isEqualTo(504);
			assertThat(waited).isGreaterThanOrEqualTo(timeout).isLessThan(timeout.plusSeconds(5));
		}
		assertThat(this.upstream.silentRequests()).isEqualTo(1);
		MeterRegistry registry = this.proxy.getBean(MeterRegistry.class);
		HangupMeters.awaitClientHangups(registry, Map.of("kind=UPSTREAM_TIMEOUT,method=GET,phase=BEFORE_RESPONSE,"
				+ "upstream=127.0.0.1:" + this.upstream.port(), 1L));
		HangupMeters.awaitCounts(registry, "http.server.requests", Map.of("hangup=UPSTREAM_TIMEOUT", 1L), "hangup");
	}

	private void startProxy(String... properties) {
		String[] all = new String[properties.length + 1];
		System.arraycopy(properties, 0, all, 0, properties.length);
		all[properties.length] = "test.upstream=" + this.upstream.baseUrl();
		this.proxy = TestApps.start(ProxyController.class, all);
	}

	/**
	 * Relays the upstream's answer as it arrives, with a client built from Boot's
	 * {@code WebClient.Builder}.
	 */
	@RestController
	static class ProxyController {

		private final WebClient webClient;

		ProxyController(WebClient.Builder builder, Environment environment) {
			this.webClient = builder.baseUrl(environment.getRequiredProperty("test.upstream")).build();
		}

		@GetMapping("/proxy/{path}")
		Flux<DataBuffer> proxy(@PathVariable String path) {
			return this.webClient.get().uri("/" + path).retrieve().bodyToFlux(DataBuffer.class);
		}

	}

	/**
	 * A healthy Reactor Netty upstream: {@code /download} sends {@value #LENGTH} bytes
	 * with a Content-Length as fast as the connection takes them; {@code /silent} never
	 * answers.
	 */
	static final class NettyUpstream implements AutoCloseable {

		static final long LENGTH = 30L * 1024 * 1024;

		private static final int CHUNK = 16 * 1024;

		private final AtomicLong written = new AtomicLong();

		private final AtomicInteger silentRequests = new AtomicInteger();

		private final DisposableServer server;

		NettyUpstream() {
			byte[] chunk = new byte[CHUNK];
			this.server = HttpServer.create()
				.host("127.0.0.1")
				.port(0)
				.route((routes) -> routes
					.get("/download",
							(request, response) -> response
								.header(HttpHeaderNames.CONTENT_LENGTH, Long.toString(LENGTH))
								.sendByteArray(Flux.range(0, (int) (LENGTH / CHUNK))
									.map((i) -> chunk)
									.doOnNext((bytes) -> this.written.addAndGet(bytes.length))))
					.get("/silent", (request, response) -> {
						this.silentRequests.incrementAndGet();
						return Mono.never();
					}))
				.bindNow();
		}

		int port() {
			return this.server.port();
		}

		String baseUrl() {
			return "http://127.0.0.1:" + port();
		}

		/** Body bytes of {@code /download} handed to the connection so far. */
		long written() {
			return this.written.get();
		}

		int silentRequests() {
			return this.silentRequests.get();
		}

		@Override
		public void close() {
			this.server.disposeNow(Duration.ofSeconds(5));
		}

	}

}
