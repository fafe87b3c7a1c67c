package io.github.hangup.servlet;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import io.github.hangup.support.Answer;
import io.github.hangup.support.FaultyUpstream;
import io.github.hangup.support.HangupMeters;
import io.github.hangup.support.RawHttpClient;
import io.github.hangup.support.RawHttpClient.Head;
import io.github.hangup.support.ServletTestApps;
import io.github.hangup.support.TestApps;
import io.micrometer.core.instrument.MeterRegistry;
import jakarta.servlet.http.HttpServletResponse;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.core.env.Environment;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.client.RestClient;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * With no timeout set, neither Hangup's nor Boot's: Boot builds the blocking clients'
 * request factories without a read timeout, and Hangup keeps it so, because a read
 * timeout also limits each silence of a body (and, on the JDK client, the time to read
 * all of it). It limits the wait for the response head alone, to 30 seconds: an upstream
 * that never answers is a {@code 504} after them, while an event stream quiet for longer
 * than that, relayed at the same time, goes on as it does without Hangup. On the two
 * factories Boot picks most: Apache HttpClient 5 and the JDK client.
 */
class MvcDefaultTimeoutTests {

	private static final Duration DEFAULT = Duration.ofSeconds(30);

	private static final String[] FACTORIES = { "http-components", "jdk" };

	private static final Map<String, ConfigurableApplicationContext> apps = new LinkedHashMap<>();

	private static FaultyUpstream upstream;

	@BeforeAll
	static void start() throws Exception {
		upstream = new FaultyUpstream();
		for (String factory : FACTORIES) {
			apps.put(factory, ServletTestApps.start(QuietController.class, "test.upstream=" + upstream.baseUrl(),
					"spring.http.clients.imperative.factory=" + factory));
		}
	}

	@AfterAll
	static void stop() throws Exception {
		for (ConfigurableApplicationContext app : apps.values()) {
			app.close();
		}
		upstream.close();
	}

	@Test
	void silentUpstreamIsA504AfterThirtySecondsWhileAQuietStreamGoesOn() throws Exception {
		Map<String, RawHttpClient> streams = new LinkedHashMap<>();
		Map<String, CompletableFuture<Answer>> silent = new LinkedHashMap<>();
		// A thread per silent call: both wait at the same time.
		ExecutorService threads = Executors.newCachedThreadPool();
		try {
			long started = System.nanoTime();
			for (String factory : FACTORIES) {
				RawHttpClient stream = new RawHttpClient(TestApps.port(apps.get(factory)), DEFAULT.multipliedBy(3));
				streams.put(factory, stream);
				Head head = stream.send("GET", "/relay/sse").readHead();
				assertThat(head.status()).isEqualTo(200);
				// The first event, in its chunk.
				assertThat(new String(stream.readBytes("c\r\ndata:first\n\n\r\n".length()), StandardCharsets.US_ASCII))
					.isEqualTo("c\r\ndata:first\n\n\r\n");
			}
			for (String factory : FACTORIES) {
				silent.put(factory,
						CompletableFuture.supplyAsync(() -> get(apps.get(factory), "/relay/hang"), threads));
			}
			for (String factory : FACTORIES) {
				silent.get(factory).join().assertProblem(504, "UPSTREAM_TIMEOUT");
			}
			// The streams have been quiet as long as the wait for a head may last, and
			// stay open well beyond, on both sides of the proxy.
			assertThat(Duration.ofNanos(System.nanoTime() - started)).isGreaterThanOrEqualTo(DEFAULT);
			for (String factory : FACTORIES) {
				assertThat(streams.get(factory).isWaiting(Duration.ofSeconds(3))).as(factory + " stream open").isTrue();
			}
			assertThat(upstream.peerClosed("/sse")).as("streams the proxy closed upstream").isZero();
			// The streams, still open, are not recorded yet.
			for (String factory : FACTORIES) {
				HangupMeters.awaitAll(apps.get(factory).getBean(MeterRegistry.class),
						Map.of("kind=UPSTREAM_TIMEOUT,method=GET,phase=BEFORE_RESPONSE,uri=/relay/{path}", 1L),
						Map.of("kind=UPSTREAM_TIMEOUT,method=GET,phase=BEFORE_RESPONSE,upstream=127.0.0.1:"
								+ upstream.port(), 1L),
						Map.of("hangup=UPSTREAM_TIMEOUT,status=504,uri=/relay/{path}", 1L),
						new String[] { "hangup", "status", "uri" }, Map.of("hangup=UPSTREAM_TIMEOUT,method=GET", 1L));
			}
		}
		finally {
			threads.shutdownNow();
			for (RawHttpClient stream : streams.values()) {
				stream.close();
			}
		}
	}

	private static Answer get(ConfigurableApplicationContext app, String target) {
		try {
			return Answer.get(app, target, DEFAULT.multipliedBy(3));
		}
		catch (IOException ex) {
			throw new IllegalStateException(ex);
		}
	}

	/** Relays the upstream's body as it comes, flushing each piece. */
	@RestController
	static class QuietController {

		private final RestClient client;

		QuietController(RestClient.Builder builder, Environment environment) {
			this.client = builder.baseUrl(environment.getRequiredProperty("test.upstream")).build();
		}

		@GetMapping("/relay/{path}")
		void relay(@PathVariable String path, HttpServletResponse response) {
			this.client.get().uri("/" + path).exchange((request, upstreamResponse) -> {
				response.setContentType(String.valueOf(upstreamResponse.getHeaders().getContentType()));
				InputStream body = upstreamResponse.getBody();
				OutputStream out = response.getOutputStream();
				byte[] buffer = new byte[1024];
				int read;
				while ((read = body.read(buffer)) != -1) {
					out.write(buffer, 0, read);
					out.flush();
				}
				return null;
			});
		}

	}

}
