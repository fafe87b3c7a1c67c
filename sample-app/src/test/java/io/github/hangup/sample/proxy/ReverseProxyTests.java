package io.github.hangup.sample.proxy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicReference;
import java.util.zip.GZIPOutputStream;

import io.github.hangup.sample.SampleApplication;
import io.micrometer.core.instrument.MeterRegistry;
import io.github.hangup.sample.demo.DemoUpstream;
import io.github.hangup.sample.support.RawHttpConnection;
import io.netty.buffer.ByteBufUtil;
import io.netty.handler.codec.http.HttpHeaderNames;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.netty.DisposableServer;
import reactor.netty.http.server.HttpServer;
import reactor.netty.http.server.HttpServerRequest;
import reactor.netty.http.server.HttpServerResponse;
import reactor.test.StepVerifier;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.SpringBootTest.WebEnvironment;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.boot.webtestclient.autoconfigure.AutoConfigureWebTestClient;
import org.springframework.http.MediaType;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.test.web.reactive.server.WebTestClient;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The proxy against real upstreams on loopback ports: what it forwards, what it drops,
 * how it streams and where it routes.
 */
@SpringBootTest(classes = SampleApplication.class, webEnvironment = WebEnvironment.RANDOM_PORT)
@AutoConfigureWebTestClient
class ReverseProxyTests {

	private static final Duration DEADLINE = Duration.ofSeconds(10);

	private static final TestUpstream defaultUpstream = new TestUpstream("default");

	private static final TestUpstream apiUpstream = new TestUpstream("api");

	private static final TestUpstream apiV2Upstream = new TestUpstream("api-v2");

	@LocalServerPort
	private int port;

	@Autowired
	private WebTestClient webTestClient;

	@DynamicPropertySource
	static void upstreams(DynamicPropertyRegistry registry) {
		registry.add("sample.upstream-url", defaultUpstream::uri);
		// Shorter prefix first, so that first-match routing would be caught out.
		registry.add("sample.routes.api.prefix", () -> "/api");
		registry.add("sample.routes.api.uri", apiUpstream::uri);
		registry.add("sample.routes.api-v2.prefix", () -> "/api/v2");
		registry.add("sample.routes.api-v2.uri", apiV2Upstream::uri);
	}

	@AfterAll
	static void stopUpstreams() {
		defaultUpstream.stop();
		apiUpstream.stop();
		apiV2Upstream.stop();
	}

	@Test
	void methodRawPathAndQueryHeadersAndBodyReachTheUpstreamAndItsAnswerComesBack() {
		String pathAndQuery = "/echo/a%20b/c%2Fd;v=1?q=a%2Bb&q=c+d&flag&euro=%E2%82%AC";
		this.webTestClient.post()
			.uri(URI.create("http://localhost:" + this.port + pathAndQuery))
			.header("x-echo-status", "201")
			.header("x-request", "one", "two")
			.contentType(MediaType.TEXT_PLAIN)
			.bodyValue("hello upstream")
			.exchange()
			.expectStatus()
			.isCreated()
			.expectHeader()
			.valueEquals("x-upstream", "default")
			.expectHeader()
			.valueEquals("x-custom", "from upstream")
			.expectHeader()
			.doesNotExist("keep-alive")
			.expectHeader()
			.doesNotExist("proxy-authenticate")
			.expectBody(String.class)
			.value((echo) -> assertThat(echo).contains("method: POST\n", "uri: " + pathAndQuery + "\n",
					"header x-request: one\n", "header x-request: two\n", "header content-length: 14\n",
					"header host: 127.0.0.1:" + URI.create(defaultUpstream.uri()).getPort() + "\n",
					"body: hello upstream\n"));
	}

	@Test
	void hopByHopHeadersAndThoseNamedInConnectionAreNotForwarded() throws IOException {
		try (RawHttpConnection connection = RawHttpConnection.open(this.port)) {
			connection.send("""
					GET /echo HTTP/1.1\r
					Host: localhost\r
					Connection: keep-alive, X-Connection-Scoped\r
					X-Connection-Scoped: secret\r
					Keep-Alive: timeout=5\r
					Proxy-Authorization: Basic Zm9vOmJhcg==\r
					Proxy-Connection: keep-alive\r
					TE: trailers\r
					Trailer: X-Checksum\r
					Upgrade: example/1\r
					X-End-To-End: kept\r
					\r
					""");
			RawHttpConnection.Head head = Objects.requireNonNull(connection.readHead());
			String echo = connection.readBody(head.contentLength()).toLowerCase(Locale.ROOT);
			assertThat(echo).contains("header x-end-to-end: kept\n")
				.doesNotContain("x-connection-scoped", "header connection:", "keep-alive", "proxy-", "header te:",
						"trailer", "upgrade")
				// Nor does the proxy negotiate compression of its own.
				.doesNotContain("accept-encoding");
		}
	}

	@Test
	void aCompressedBodyIsRelayedByteForByte() throws IOException {
		try (RawHttpConnection connection = RawHttpConnection.open(this.port)) {
			connection.send("GET /gzip HTTP/1.1\r\nHost: localhost\r\nAccept-Encoding: gzip\r\n\r\n");
			RawHttpConnection.Head head = Objects.requireNonNull(connection.readHead());
			assertThat(head.header("content-encoding")).isEqualTo("gzip");
			assertThat(connection.readBodyBytes(head.contentLength())).isEqualTo(TestUpstream.GZIPPED);
		}
	}

	@Test
	void serverSentEventsArriveOneByOneBeforeTheUpstreamFinishes() {
		Sinks.Empty<Void> release = defaultUpstream.holdStreamsAfterTheFirstPart();
		Flux<String> events = this.webTestClient.get()
			.uri("/events")
			.accept(MediaType.TEXT_EVENT_STREAM)
			.exchange()
			.expectStatus()
			.isOk()
			.expectHeader()
			.contentTypeCompatibleWith(MediaType.TEXT_EVENT_STREAM)
			.returnResult(String.class)
			.getResponseBody();
		StepVerifier.create(events)
			.expectNext("first")
			// Only now may the upstream send the rest: the first event came through
			// alone.
			.then(release::tryEmitEmpty)
			.expectNext("second")
			.expectComplete()
			.verify(DEADLINE);
	}

	@Test
	void aChunkedBodyArrivesChunkByChunkBeforeTheUpstreamFinishes() {
		Sinks.Empty<Void> release = defaultUpstream.holdStreamsAfterTheFirstPart();
		Flux<String> lines = this.webTestClient.get()
			.uri("/chunks")
			.exchange()
			.expectStatus()
			.isOk()
			.expectHeader()
			.doesNotExist("content-length")
			.returnResult(String.class)
			.getResponseBody();
		StepVerifier.create(lines)
			.expectNext("first")
			.then(release::tryEmitEmpty)
			.expectNext("second")
			.expectComplete()
			.verify(DEADLINE);
	}

	@Test
	void theLongestMatchingPrefixPicksTheUpstreamAndThePathIsKept() {
		assertRoutedTo("/api/v2/items?id=7", "api-v2");
		assertRoutedTo("/api/v2", "api-v2");
		assertRoutedTo("/api/items", "api");
		assertRoutedTo("/api", "api");
		assertRoutedTo("/apiary", "default");
		assertRoutedTo("/other", "default");
	}

	@Test
	void anUpstreamThatHangsUpIsAnsweredBadGatewayWithItsRouteInTheMetrics(@Autowired MeterRegistry registry) {
		this.webTestClient.get()
			.uri("/hangup")
			.exchange()
			.expectStatus()
			.isEqualTo(502)
			.expectHeader()
			.contentType("application/problem+json")
			.expectBody()
			.jsonPath("$.hangup")
			.isEqualTo("UPSTREAM_RESET");
		assertThat(registry.get("http.server.hangups")
			.tag("kind", "UPSTREAM_RESET")
			.tag("phase", "BEFORE_RESPONSE")
			.tag("uri", "/**")
			.timer()
			.count()).isEqualTo(1);
	}

	@Test
	void actuatorEndpointsAreServedLocallyAndNeverForwarded() {
		this.webTestClient.get()
			.uri("/actuator/health")
			.exchange()
			.expectStatus()
			.isOk()
			.expectHeader()
			.doesNotExist("x-upstream");
		this.webTestClient.get()
			.uri("/actuator/no-such-endpoint")
			.exchange()
			.expectStatus()
			.isNotFound()
			.expectHeader()
			.doesNotExist("x-upstream");
	}

	@Test
	void theDemoUpstreamStaysOffWhenAnUpstreamIsConfigured(@Autowired ObjectProvider<DemoUpstream> demoUpstream) {
		assertThat(demoUpstream.getIfAvailable()).isNull();
	}

	private void assertRoutedTo(String pathAndQuery, String upstream) {
		this.webTestClient.get()
			.uri(URI.create("http://localhost:" + this.port + pathAndQuery))
			.exchange()
			.expectHeader()
			.valueEquals("x-upstream", upstream)
			.expectBody(String.class)
			.value((echo) -> assertThat(echo).contains("uri: " + pathAndQuery + "\n"));
	}

	/**
	 * Upstream that echoes what it received as text, or, on {@code /events} and
	 * {@code /chunks}, streams a first part and holds the second until released.
	 */
	static final class TestUpstream {

		static final byte[] GZIPPED = gzip("compressed by the upstream\n");

		private final String name;

		private final DisposableServer server;

		private final AtomicReference<Sinks.Empty<Void>> release = new AtomicReference<>(Sinks.empty());

		TestUpstream(String name) {
			this.name = name;
			this.server = HttpServer.create().host("127.0.0.1").port(0).handle(this::handle).bindNow();
		}

		String uri() {
			return "http://127.0.0.1:" + this.server.port();
		}

		Sinks.Empty<Void> holdStreamsAfterTheFirstPart() {
			Sinks.Empty<Void> release = Sinks.empty();
			this.release.set(release);
			return release;
		}

		void stop() {
			this.server.disposeNow(DEADLINE);
		}

		private Publisher<Void> handle(HttpServerRequest request, HttpServerResponse response) {
			response.header("x-upstream", this.name);
			return switch (request.fullPath()) {
				case "/events" -> stream(response, "text/event-stream", "data: first\n\n", "data: second\n\n");
				case "/chunks" -> stream(response, "text/plain", "first\n", "second\n");
				case "/gzip" -> response.header(HttpHeaderNames.CONTENT_ENCODING, "gzip")
					.header(HttpHeaderNames.CONTENT_TYPE, "text/plain")
					.sendByteArray(Mono.just(GZIPPED));
				case "/hangup" -> request.receive()
					.then(Mono.create((sink) -> response.withConnection(
							(connection) -> connection.channel().close().addListener((future) -> sink.success()))));
				default -> echo(request, response);
			};
		}

		private Publisher<Void> stream(HttpServerResponse response, String contentType, String first, String second) {
			Flux<String> parts = Flux.concat(Mono.just(first), this.release.get().asMono().then(Mono.just(second)));
			return response.header(HttpHeaderNames.CONTENT_TYPE, contentType)
				.send(parts.map((part) -> ByteBufUtil.writeUtf8(response.alloc(), part)), (part) -> true);
		}

		private static byte[] gzip(String text) {
			ByteArrayOutputStream bytes = new ByteArrayOutputStream();
			try (GZIPOutputStream gzip = new GZIPOutputStream(bytes)) {
				gzip.write(text.getBytes(StandardCharsets.UTF_8));
			}
			catch (IOException ex) {
				throw new UncheckedIOException(ex);
			}
			return bytes.toByteArray();
		}

		private Publisher<Void> echo(HttpServerRequest request, HttpServerResponse response) {
			String status = request.requestHeaders().get("x-echo-status");
			return request.receive().aggregate().asString(StandardCharsets.UTF_8).defaultIfEmpty("").flatMap((body) -> {
				StringBuilder echo = new StringBuilder();
				echo.append("method: ").append(request.method().name()).append('\n');
				echo.append("uri: ").append(request.uri()).append('\n');
				request.requestHeaders()
					.forEach((header) -> echo.append("header ")
						.append(header.getKey().toLowerCase(Locale.ROOT))
						.append(": ")
						.append(header.getValue())
						.append('\n'));
				echo.append("body: ").append(body).append('\n');
				return response.status((status != null) ? Integer.parseInt(status) : 200)
					.header("x-custom", "from upstream")
					.header("keep-alive", "timeout=5")
					.header("proxy-authenticate", "Basic realm=upstream")
					.header(HttpHeaderNames.CONTENT_TYPE, "text/plain;charset=utf-8")
					.sendString(Mono.just(echo.toString()))
					.then();
			});
		}

	}

}
