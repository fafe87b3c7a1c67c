package io.github.hangup.sample.demo;

import java.io.IOException;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.util.Objects;

import io.github.hangup.sample.SampleApplication;
import io.github.hangup.sample.support.RawHttpConnection;
import io.github.hangup.sample.support.RawHttpConnection.Head;
import io.github.hangup.sample.support.RawHttpConnection.Remainder;
import org.junit.jupiter.api.Test;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.SpringBootTest.WebEnvironment;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.boot.webtestclient.autoconfigure.AutoConfigureWebTestClient;
import org.springframework.test.web.reactive.server.WebTestClient;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Each demo endpoint misbehaves exactly as documented, seen byte by byte from a plain
 * socket, and the proxy uses the demo upstream when no upstream is configured.
 */
@SpringBootTest(classes = SampleApplication.class, webEnvironment = WebEnvironment.RANDOM_PORT)
@AutoConfigureWebTestClient
class DemoUpstreamTests {

	@Autowired
	private DemoUpstream demoUpstream;

	@LocalServerPort
	private int proxyPort;

	@Autowired
	private WebTestClient webTestClient;

	@Test
	void okAnswers200AndKeepsTheConnectionAlive() throws IOException {
		try (RawHttpConnection connection = RawHttpConnection.open(this.demoUpstream.getPort())) {
			for (int i = 0; i < 2; i++) {
				connection.send(get("/ok"));
				Head head = Objects.requireNonNull(connection.readHead());
				assertThat(head.status()).isEqualTo(200);
				assertThat(connection.readBody(head.contentLength())).isEqualTo("ok\n");
			}
		}
	}

	@Test
	void hangupReadsTheRequestThenClosesWithoutAnyResponseByte() throws IOException {
		try (RawHttpConnection connection = RawHttpConnection.open(this.demoUpstream.getPort())) {
			connection.send("POST /hangup HTTP/1.1\r\nHost: demo\r\nContent-Length: 5\r\n\r\nhello");
			Remainder remainder = connection.readToEnd();
			assertThat(remainder.bytes()).isEmpty();
			assertThat(remainder.failure()).isNull();
		}
	}

	@Test
	void resetMidBodyPromisesMoreBytesThanItSendsThenResetsTheConnection() throws IOException {
		try (RawHttpConnection connection = RawHttpConnection.open(this.demoUpstream.getPort())) {
			connection.send(get("/reset-mid-body"));
			Head head = Objects.requireNonNull(connection.readHead());
			assertThat(head.status()).isEqualTo(200);
			assertThat(head.contentLength()).isEqualTo(DemoEndpoints.RESET_CONTENT_LENGTH);
			Remainder remainder = connection.readToEnd();
			assertThat(remainder.bytes()).hasSize(DemoEndpoints.RESET_SENT_BYTES);
			assertThat(remainder.failure()).isInstanceOf(SocketException.class).hasMessageContaining("reset");
		}
	}

	@Test
	void streamSendsOneLinePerChunkWithoutContentLength() throws IOException {
		try (RawHttpConnection connection = RawHttpConnection.open(this.demoUpstream.getPort())) {
			connection.send(get("/stream?chunks=3&interval=20"));
			Head head = Objects.requireNonNull(connection.readHead());
			assertThat(head.status()).isEqualTo(200);
			assertThat(head.header("transfer-encoding")).isEqualTo("chunked");
			assertThat(head.header("content-length")).isNull();
			assertThat(connection.readChunks()).containsExactly("chunk 1 of 3\n", "chunk 2 of 3\n", "chunk 3 of 3\n");
		}
	}

	@Test
	void sseSendsTheRequestedNumberOfEventsOnePerChunk() throws IOException {
		try (RawHttpConnection connection = RawHttpConnection.open(this.demoUpstream.getPort())) {
			connection.send(get("/sse?count=2&interval=20"));
			Head head = Objects.requireNonNull(connection.readHead());
			assertThat(head.status()).isEqualTo(200);
			assertThat(head.header("content-type")).startsWith("text/event-stream");
			assertThat(connection.readChunks()).containsExactly("id: 1\nevent: tick\ndata: tick 1 of 2\n\n",
					"id: 2\nevent: tick\ndata: tick 2 of 2\n\n");
		}
	}

	@Test
	void slowAnswersNoSoonerThanAsked() throws IOException {
		try (RawHttpConnection connection = RawHttpConnection.open(this.demoUpstream.getPort())) {
			long start = System.nanoTime();
			connection.send(get("/slow?ms=300"));
			Head head = Objects.requireNonNull(connection.readHead());
			long elapsedMillis = (System.nanoTime() - start) / 1_000_000;
			assertThat(head.status()).isEqualTo(200);
			assertThat(connection.readBody(head.contentLength())).isEqualTo("answered after 300 ms\n");
			assertThat(elapsedMillis).isGreaterThanOrEqualTo(300);
		}
	}

	@Test
	void indexDescribesEveryEndpoint() throws IOException {
		try (RawHttpConnection connection = RawHttpConnection.open(this.demoUpstream.getPort())) {
			connection.send(get("/"));
			Head head = Objects.requireNonNull(connection.readHead());
			assertThat(connection.readBody(head.contentLength())).contains("/ok", "/slow?ms=", "/stream?chunks=",
					"/sse?count=", "/hangup", "/reset-mid-body");
		}
	}

	@Test
	void theProxyForwardsToTheDemoUpstreamWhenNoUpstreamIsConfigured() {
		this.webTestClient.get().uri("/ok").exchange().expectStatus().isOk().expectBody(String.class).isEqualTo("ok\n");
	}

	@Test
	void aResetMidBodyReachesTheClientAsABodyCutShort() throws IOException {
		try (RawHttpConnection connection = RawHttpConnection.open(this.proxyPort)) {
			connection.send(get("/reset-mid-body"));
			Head head = Objects.requireNonNull(connection.readHead());
			assertThat(head.contentLength()).isEqualTo(DemoEndpoints.RESET_CONTENT_LENGTH);
			Remainder remainder = connection.readToEnd();
			assertThat(new String(remainder.bytes(), StandardCharsets.US_ASCII))
				.hasSizeLessThan(DemoEndpoints.RESET_CONTENT_LENGTH);
		}
	}

	private static String get(String pathAndQuery) {
		return "GET " + pathAndQuery + " HTTP/1.1\r\nHost: demo\r\n\r\n";
	}

}
