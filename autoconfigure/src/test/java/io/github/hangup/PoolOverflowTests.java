package io.github.hangup;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import io.github.hangup.client.OutboundCalls;
import io.github.hangup.metrics.HangupMetrics;
import io.github.hangup.support.HangupMeters;
import io.github.hangup.support.ProxyUnderTest;
import io.github.hangup.support.RawHttpClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import reactor.core.publisher.Mono;
import reactor.netty.http.client.HttpClient;
import reactor.netty.resources.ConnectionProvider;

import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.core.env.Environment;
import org.springframework.http.client.reactive.ReactorClientHttpConnector;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.reactive.function.client.WebClient;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A full connection pool is the proxy's own capacity: a counted 503 with Retry-After and
 * a problem body, one WARN line without a stack trace; never a generic 500.
 */
@ExtendWith(OutputCaptureExtension.class)
class PoolOverflowTests {

	private ProxyUnderTest app;

	@BeforeEach
	void start() throws Exception {
		this.app = ProxyUnderTest.start(PooledController.class);
	}

	@AfterEach
	void stop() throws Exception {
		this.app.close();
	}

	@ParameterizedTest(name = "{0}")
	@ValueSource(strings = { "pending-limit", "acquire-timeout" })
	void callFindingNoFreePooledConnectionIsACounted503(String pool, CapturedOutput output) throws Exception {
		try (RawHttpClient holder = new RawHttpClient(this.app.port(), Duration.ofSeconds(10));
				RawHttpClient queued = new RawHttpClient(this.app.port(), Duration.ofSeconds(10));
				RawHttpClient overflow = new RawHttpClient(this.app.port(), Duration.ofSeconds(10))) {
			// One call holds the only connection; with a queue of one, one more waits.
			holder.send("GET", "/pooled/" + pool);
			this.app.upstream().awaitReceived("/hang", 1);
			if (pool.equals("pending-limit")) {
				queued.send("GET", "/pooled/" + pool);
				// The second call waits for the only connection.
				await().atMost(Duration.ofSeconds(10))
					.until(() -> this.app.proxy().getBean(OutboundCalls.class).inFlight() == 2);
			}
			RawHttpClient.Head head = overflow.send("GET", "/pooled/" + pool).readHead();
			assertThat(head.status()).isEqualTo(503);
			assertThat(head.header("Retry-After")).isEqualTo("1");
			assertThat(new String(overflow.readBytes(Integer.parseInt(head.header("Content-Length")))))
				.contains("\"hangup\":\"UPSTREAM_OVERFLOW\"");
		}
		// The clients that held and queued left when the test closed them.
		long left = pool.equals("pending-limit") ? 2L : 1L;
		HangupMeters.awaitCounts(this.app.registry(), HangupMetrics.SERVER_HANGUPS,
				Map.of("kind=UPSTREAM_OVERFLOW,method=GET,phase=BEFORE_RESPONSE,uri=/pooled/{pool}", 1L,
						"kind=CLIENT_CANCEL,method=GET,phase=BEFORE_RESPONSE,uri=/pooled/{pool}", left));
		HangupMeters.awaitClientHangups(this.app.registry(),
				Map.of("kind=UPSTREAM_OVERFLOW,method=GET,phase=BEFORE_RESPONSE," + this.app.upstreamTag(), 1L,
						"kind=CLIENT_CANCEL,method=GET,phase=BEFORE_RESPONSE," + this.app.upstreamTag(), left));
		HangupMeters.awaitCounts(this.app.registry(), "http.server.requests",
				Map.of("hangup=UPSTREAM_OVERFLOW,status=503", 1L, "hangup=CLIENT_CANCEL,status=UNKNOWN", left),
				"hangup", "status");
		List<String> warnings = output.getOut().lines().filter((line) -> line.contains(" WARN ")).toList();
		assertThat(warnings).singleElement().asString().contains("Hang-up UPSTREAM_OVERFLOW side=INBOUND");
		// Netty's leak detector reports a buffer when the garbage collector finds it, in
		// whichever test runs then: leaks are the paranoid runs' to find (the soaks, the
		// cancel storms), not this test's.
		List<String> errors = output.getOut()
			.lines()
			.filter((line) -> line.contains(" ERROR ") && !line.contains("ResourceLeakDetector"))
			.toList();
		assertThat(errors).isEmpty();
		assertThat(output.getOut().lines().filter((line) -> line.startsWith("\tat ")).toList()).isEmpty();
	}

	/**
	 * Calls the upstream through pools of one connection: one with a queue of one pending
	 * acquire, one whose pending acquires time out.
	 */
	@RestController
	static class PooledController {

		private final Map<String, WebClient> clients;

		PooledController(WebClient.Builder builder, Environment environment) {
			WebClient upstream = ProxyUnderTest.upstreamClient(builder, environment);
			this.clients = Map.of("pending-limit",
					pooled(upstream,
							ConnectionProvider.builder("pending-limit").maxConnections(1).pendingAcquireMaxCount(1)),
					"acquire-timeout",
					pooled(upstream,
							ConnectionProvider.builder("acquire-timeout")
								.maxConnections(1)
								.pendingAcquireTimeout(Duration.ofMillis(200))));
		}

		private static WebClient pooled(WebClient upstream, ConnectionProvider.Builder pool) {
			return upstream.mutate()
				.clientConnector(new ReactorClientHttpConnector(HttpClient.create(pool.build())))
				.build();
		}

		@GetMapping("/pooled/{pool}")
		Mono<String> pooled(@PathVariable String pool) {
			return this.clients.get(pool).get().uri("/hang").retrieve().bodyToMono(String.class);
		}

	}

}
