package io.github.hangup.servlet;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import io.github.hangup.client.OutboundCalls;
import io.github.hangup.metrics.HangupMetrics;
import io.github.hangup.support.HangupMeters;
import io.github.hangup.support.RawHttpClient;
import io.github.hangup.support.ServletRelay;
import io.github.hangup.support.Settled;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import org.springframework.core.env.Environment;
import org.springframework.core.task.support.ContextPropagatingTaskDecorator;
import org.springframework.scheduling.concurrent.ThreadPoolTaskExecutor;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.client.RestClient;
import org.springframework.web.context.request.async.DeferredResult;
import org.springframework.web.servlet.mvc.method.annotation.StreamingResponseBody;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Many clients of a Spring MVC application on Tomcat leave at once: half while their
 * request waits on a silent upstream ({@code DeferredResult}, its {@code RestClient} call
 * on another thread, found by the connection watch), half in the middle of a relayed
 * download (found at the next write). Every request is counted once as
 * {@code CLIENT_CANCEL} on both hang-up meters and Boot's {@code http.server.requests},
 * the counts hold, every upstream call is aborted (the upstream sees each connection
 * closed), and nothing is left in flight or waiting.
 */
class MvcCancelStormTests {

	private static final int EACH = 60;

	private static final Duration READ_TIMEOUT = Duration.ofSeconds(30);

	@RegisterExtension
	static final ServletRelay relay = ServletRelay.of(StormController.class, "spring.http.clients.read-timeout=30s",
			"server.tomcat.threads.max=" + (2 * EACH + 20),
			// StreamingResponseBody runs on the application's task executor: all at
			// once.
			"spring.task.execution.pool.core-size=" + (2 * EACH));

	@Test
	void clientsLeavingAtOnceAreEachCountedOnceAndEachCallIsAborted() throws Exception {
		int hangReceived = relay.upstream().received("/hang");
		int hangClosed = relay.upstream().peerClosed("/hang");
		int bigReceived = relay.upstream().received("/big");
		int bigClosed = relay.upstream().peerClosed("/big");
		ExecutorService clients = Executors.newFixedThreadPool(2 * EACH);
		// All leave together, once every waiting request reached the upstream.
		CyclicBarrier leave = new CyclicBarrier(2 * EACH,
				() -> relay.upstream().awaitReceived("/hang", hangReceived + EACH));
		List<Future<?>> done = new ArrayList<>();
		for (int i = 0; i < EACH; i++) {
			done.add(clients.submit(() -> leaving("/deferred", false, leave)));
			done.add(clients.submit(() -> leaving("/download", true, leave)));
		}
		for (Future<?> future : done) {
			future.get(60, TimeUnit.SECONDS);
		}
		clients.shutdown();
		relay.upstream().awaitPeerClosed("/hang", hangClosed + EACH);
		relay.upstream().awaitPeerClosed("/big", bigClosed + EACH);
		OutboundCalls calls = relay.app().getBean(OutboundCalls.class);
		Settled.awaitAndHold("calls in flight", calls::inFlight, 0);
		Settled.awaitAndHold("tasks running",
				() -> relay.app().getBean(StormController.class).executor.getActiveCount(), 0);
		HangupMeters.awaitCounts(relay.registry(), HangupMetrics.SERVER_HANGUPS,
				Map.of("kind=CLIENT_CANCEL,phase=BEFORE_RESPONSE", (long) EACH,
						"kind=CLIENT_CANCEL,phase=DURING_RESPONSE", (long) EACH),
				HangupMetrics.KIND, HangupMetrics.PHASE);
		HangupMeters.awaitCounts(relay.registry(), HangupMetrics.CLIENT_HANGUPS,
				Map.of("kind=CLIENT_CANCEL,phase=BEFORE_RESPONSE", (long) EACH,
						"kind=CLIENT_CANCEL,phase=DURING_RESPONSE", (long) EACH),
				HangupMetrics.KIND, HangupMetrics.PHASE);
		HangupMeters.awaitCounts(relay.registry(), "http.server.requests", Map.of("hangup=CLIENT_CANCEL", 2L * EACH),
				"hangup");
		// A moment later, the same: nothing was recorded twice, late.
		Settled.awaitAndHold("server hang-ups",
				() -> HangupMeters.counts(relay.registry(), HangupMetrics.SERVER_HANGUPS, HangupMetrics.KIND),
				Map.of("kind=CLIENT_CANCEL", 2L * EACH));
		Settled.awaitAndHold("client hang-ups",
				() -> HangupMeters.counts(relay.registry(), HangupMetrics.CLIENT_HANGUPS, HangupMetrics.KIND),
				Map.of("kind=CLIENT_CANCEL", 2L * EACH));
		Settled.awaitAndHold("server requests",
				() -> HangupMeters.counts(relay.registry(), "http.server.requests", "hangup"),
				Map.of("hangup=CLIENT_CANCEL", 2L * EACH));
		assertThat(relay.upstream().received("/hang") - hangReceived).isEqualTo(EACH);
		assertThat(relay.upstream().received("/big") - bigReceived).isEqualTo(EACH);
	}

	/**
	 * Sends a request, reads the head and a first byte of its answer if {@code reading},
	 * then leaves with the others.
	 */
	private static Void leaving(String path, boolean reading, CyclicBarrier leave) throws Exception {
		try (RawHttpClient client = new RawHttpClient(relay.port(), READ_TIMEOUT)) {
			client.send("GET", path);
			if (reading) {
				assertThat(client.readHead().status()).isEqualTo(200);
				client.readBytes(1);
			}
			leave.await(30, TimeUnit.SECONDS);
			client.reset();
		}
		return null;
	}

	@RestController
	static class StormController {

		private final RestClient restClient;

		final ThreadPoolTaskExecutor executor;

		StormController(RestClient.Builder restClients, Environment environment) {
			this.restClient = restClients.clone().baseUrl(environment.getRequiredProperty("test.upstream")).build();
			this.executor = new ThreadPoolTaskExecutor();
			this.executor.setCorePoolSize(EACH);
			this.executor.setTaskDecorator(new ContextPropagatingTaskDecorator());
			this.executor.setThreadNamePrefix("storm-");
			this.executor.initialize();
		}

		@GetMapping("/deferred")
		DeferredResult<String> deferred() {
			DeferredResult<String> result = new DeferredResult<>(READ_TIMEOUT.toMillis());
			this.executor.execute(() -> {
				try {
					result.setResult(this.restClient.get().uri("/hang").retrieve().body(String.class));
				}
				catch (RuntimeException ex) {
					result.setErrorResult(ex);
				}
			});
			return result;
		}

		@GetMapping("/download")
		StreamingResponseBody download() {
			return (out) -> this.restClient.get().uri("/big").exchange((request, response) -> {
				relay(response.getBody(), out);
				return null;
			});
		}

		private static void relay(InputStream body, OutputStream out) throws IOException {
			byte[] buffer = new byte[8192];
			int read;
			while ((read = body.read(buffer)) != -1) {
				out.write(buffer, 0, read);
				out.flush();
			}
		}

	}

}
