package io.github.hangup;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import io.github.hangup.metrics.HangupMetrics;
import io.github.hangup.support.HangupMeters;
import io.github.hangup.support.TestApps;
import io.micrometer.core.instrument.MeterRegistry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Mono;

import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.core.env.Environment;
import org.springframework.test.web.reactive.server.WebTestClient;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.reactive.function.client.WebClient;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A TLS handshake that hangs (a silent port behind an {@code https} route) is bounded by
 * the response timeout the user set, and answered as the upstream timeout it is: not a
 * 500 after Reactor Netty's own, hidden, ten-second handshake timeout.
 */
class TlsHandshakeTests {

	private SilentPort silent;

	private ConfigurableApplicationContext proxy;

	@AfterEach
	void stop() throws IOException {
		if (this.proxy != null) {
			this.proxy.close();
		}
		this.silent.close();
	}

	@Test
	void handshakeThatHangsIsAnUpstreamTimeoutWithinTheResponseTimeout() throws IOException {
		this.silent = new SilentPort();
		this.proxy = TestApps.start(TlsController.class, "test.upstream=https://127.0.0.1:" + this.silent.port(),
				"hangup.client.response-timeout=1s");
		// Well before Reactor Netty's ten-second handshake timeout.
		WebTestClient.bindToServer()
			.baseUrl("http://127.0.0.1:" + TestApps.port(this.proxy))
			.responseTimeout(Duration.ofSeconds(5))
			.build()
			.get()
			.uri("/tls")
			.exchange()
			.expectStatus()
			.isEqualTo(504)
			.expectBody()
			.jsonPath("$.hangup")
			.isEqualTo("UPSTREAM_TIMEOUT");
		MeterRegistry registry = this.proxy.getBean(MeterRegistry.class);
		HangupMeters.awaitCounts(registry, HangupMetrics.SERVER_HANGUPS,
				Map.of("kind=UPSTREAM_TIMEOUT,method=GET,phase=BEFORE_RESPONSE,uri=/tls", 1L));
		HangupMeters.awaitCounts(registry, HangupMetrics.CLIENT_HANGUPS,
				Map.of("connection=UNKNOWN,kind=UPSTREAM_TIMEOUT,"
						+ "method=GET,phase=BEFORE_RESPONSE,upstream=127.0.0.1:" + this.silent.port(), 1L));
		assertThat(this.silent.accepted()).isOne();
	}

	@RestController
	static class TlsController {

		private final WebClient webClient;

		TlsController(WebClient.Builder builder, Environment environment) {
			this.webClient = builder.clone().baseUrl(environment.getRequiredProperty("test.upstream")).build();
		}

		@GetMapping("/tls")
		Mono<String> tls() {
			return this.webClient.get().uri("/x").retrieve().bodyToMono(String.class);
		}

	}

	/**
	 * Accepts connections and never says a word: a TLS client waits for its server hello.
	 */
	static final class SilentPort implements AutoCloseable {

		private final ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());

		private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();

		SilentPort() throws IOException {
			Thread acceptor = new Thread(() -> {
				try {
					while (true) {
						this.sockets.add(this.server.accept());
					}
				}
				catch (IOException ex) {
					// Closed.
				}
			}, "silent-port-accept");
			acceptor.setDaemon(true);
			acceptor.start();
		}

		int port() {
			return this.server.getLocalPort();
		}

		int accepted() {
			return this.sockets.size();
		}

		@Override
		public void close() throws IOException {
			this.server.close();
			for (Socket socket : this.sockets) {
				socket.close();
			}
		}

	}

}
