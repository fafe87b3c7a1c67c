package io.github.hangup;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import io.github.hangup.actuate.HangupHistory;
import io.github.hangup.client.OutboundCalls;
import io.github.hangup.metrics.HangupMetrics;
import io.github.hangup.support.HangupMeters;
import io.github.hangup.support.TestApps;
import io.micrometer.core.instrument.MeterRegistry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.netty.DisposableServer;
import reactor.netty.http.HttpProtocol;
import reactor.netty.http.client.HttpClient;
import reactor.netty.http.server.HttpServer;

import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.core.env.Environment;
import org.springframework.http.client.reactive.ReactorClientHttpConnector;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.reactive.function.client.WebClient;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Cancellation over HTTP/2 cleartext on both sides: an inbound RST_STREAM stops the
 * request and its upstream call, and the upstream call is stopped with RST_STREAM on a
 * connection that stays open for other requests.
 */
class Http2CancellationTests {

	private H2cUpstream upstream;

	private ConfigurableApplicationContext proxy;

	private MeterRegistry registry;

	private HttpClient client;

	@BeforeEach
	void start() {
		this.upstream = new H2cUpstream();
		this.proxy = TestApps.start(ProxyController.class, "server.http2.enabled=true",
				"management.endpoints.web.exposure.include=hangups", "test.upstream=" + this.upstream.baseUrl());
		this.registry = this.proxy.getBean(MeterRegistry.class);
		int port = TestApps.port(this.proxy);
		this.client = HttpClient.create().protocol(HttpProtocol.H2C).baseUrl("http://127.0.0.1:" + port);
	}

	@AfterEach
	void stop() {
		this.proxy.close();
		this.upstream.server.disposeNow();
	}

	@Test
	void inboundResetStreamCancelsTheRequestAndItsUpstreamStream() {
		Disposable request = this.client.get().uri("/h2/hang").responseContent().subscribe();
		await().atMost(Duration.ofSeconds(10)).until(() -> this.upstream.started.get() == 1);
		// Disposing an HTTP/2 request sends RST_STREAM(CANCEL).
		request.dispose();
		await().atMost(Duration.ofSeconds(10)).until(() -> this.upstream.cancelled.get() == 1);
		HangupMeters.awaitCounts(this.registry, HangupMetrics.SERVER_HANGUPS,
				Map.of("kind=CLIENT_CANCEL,method=GET,phase=BEFORE_RESPONSE,uri=/h2/hang", 1L));
		HangupMeters.awaitClientHangups(this.registry,
				Map.of("kind=CLIENT_CANCEL,method=GET,phase=DURING_RESPONSE,upstream=" + this.upstream.hostPort(), 1L));
		await().atMost(Duration.ofSeconds(10)).until(() -> this.proxy.getBean(OutboundCalls.class).inFlight() == 0);
		// Said as it happened: a stream reset, on a connection that stays open.
		assertThat(this.proxy.getBean(HangupHistory.class).recent())
			.filteredOn((hangup) -> hangup.side() == HangupSide.INBOUND)
			.singleElement()
			.satisfies((hangup) -> assertThat(hangup.explanation()).contains("reset its HTTP/2 stream (RST_STREAM)")
				.contains("connection stays open")
				.doesNotContain("closed the connection"));
	}

	@Test
	void upstreamStreamIsResetWhileItsConnectionStaysOpen() {
		String ok = this.client.get()
			.uri("/h2/ok")
			.responseContent()
			.aggregate()
			.asString()
			.block(Duration.ofSeconds(10));
		assertThat(ok).isEqualTo("ok");
		assertThat(this.upstream.connections.get()).isEqualTo(1);
		Disposable request = this.client.get().uri("/h2/detached").responseContent().subscribe();
		await().atMost(Duration.ofSeconds(10)).until(() -> this.upstream.started.get() == 1);
		request.dispose();
		await().atMost(Duration.ofSeconds(10)).until(() -> this.upstream.cancelled.get() == 1);
		String again = this.client.get()
			.uri("/h2/ok")
			.responseContent()
			.aggregate()
			.asString()
			.block(Duration.ofSeconds(10));
		assertThat(again).isEqualTo("ok");
		assertThat(this.upstream.connections.get()).isEqualTo(1);
		HangupMeters.awaitClientHangups(this.registry,
				Map.of("kind=CLIENT_CANCEL,method=GET,phase=DURING_RESPONSE,upstream=" + this.upstream.hostPort(), 1L));
	}

	@RestController
	static class ProxyController {

		private final WebClient webClient;

		ProxyController(WebClient.Builder builder, Environment environment) {
			HttpClient h2c = HttpClient.create().protocol(HttpProtocol.H2C);
			this.webClient = builder.clone()
				.baseUrl(environment.getRequiredProperty("test.upstream"))
				.clientConnector(new ReactorClientHttpConnector(h2c))
				.build();
		}

		@GetMapping("/h2/hang")
		Mono<String> hang() {
			return call("/hang");
		}

		@GetMapping("/h2/ok")
		Mono<String> ok() {
			return call("/ok");
		}

		@GetMapping("/h2/detached")
		Mono<String> detached() {
			call("/hang").subscribe();
			return Mono.never();
		}

		private Mono<String> call(String path) {
			return this.webClient.get().uri(path).retrieve().bodyToMono(String.class);
		}

	}

	/**
	 * An h2c upstream that counts TCP connections, started streams and cancelled streams.
	 * Its {@code /hang} sends the response headers, then never a body.
	 */
	static final class H2cUpstream {

		final AtomicInteger connections = new AtomicInteger();

		final AtomicInteger started = new AtomicInteger();

		final AtomicInteger cancelled = new AtomicInteger();

		final DisposableServer server;

		H2cUpstream() {
			this.server = HttpServer.create()
				.host("127.0.0.1")
				.port(0)
				.protocol(HttpProtocol.H2C)
				.doOnChannelInit((observer, channel, address) -> this.connections.incrementAndGet())
				.route((routes) -> routes.get("/ok", (request, response) -> response.sendString(Mono.just("ok")))
					.get("/hang", (request, response) -> {
						this.started.incrementAndGet();
						return response.sendString(Flux.<String>never().doOnCancel(this.cancelled::incrementAndGet));
					}))
				.bindNow();
		}

		String baseUrl() {
			return "http://" + hostPort();
		}

		String hostPort() {
			return "127.0.0.1:" + this.server.port();
		}

	}

}
