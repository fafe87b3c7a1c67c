package io.github.hangup.servlet;

import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import io.github.hangup.ServerCloseException;
import io.github.hangup.client.OutboundCalls;
import io.github.hangup.client.blocking.HangupResourceAccessException;
import io.github.hangup.support.FaultyUpstream;
import io.github.hangup.support.HangupMeters;
import io.github.hangup.support.RawHttpClient;
import io.github.hangup.support.RawHttpClient.Head;
import io.github.hangup.support.RecordedHangups;
import io.github.hangup.support.ServletTestApps;
import io.github.hangup.support.TestApps;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.core.env.Environment;
import org.springframework.core.task.support.ContextPropagatingTaskDecorator;
import org.springframework.scheduling.concurrent.ThreadPoolTaskExecutor;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.client.RestClient;
import org.springframework.web.context.request.async.DeferredResult;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Graceful shutdown of a Spring MVC application on Tomcat while asynchronous requests
 * wait on {@code RestClient} calls (Boot's, on the JDK's {@code HttpClient}) that would
 * never end: once the grace period is over, each request is counted once as
 * {@code SERVER_CLOSE}, its call is aborted (the upstream sees its connection closed),
 * the thread waiting on it is released with a {@link ServerCloseException}, and the
 * client gets an honest {@code 503} before the web server stops.
 */
class MvcShutdownTests {

	private static FaultyUpstream upstream;

	private ConfigurableApplicationContext app;

	@BeforeAll
	static void startUpstream() throws Exception {
		upstream = new FaultyUpstream();
	}

	@AfterAll
	static void stopUpstream() throws Exception {
		upstream.close();
	}

	@BeforeEach
	void start() {
		WaitingController.outcomes.clear();
		this.app = ServletTestApps.start(WaitingController.class, "test.upstream=" + upstream.baseUrl(),
				"spring.http.clients.imperative.factory=jdk", "spring.http.clients.read-timeout=60s",
				"spring.lifecycle.timeout-per-shutdown-phase=1s");
	}

	@ParameterizedTest
	@ValueSource(strings = { "/callable", "/deferred" })
	void shutdownClosesAnAsynchronousRequestWaitingOnAnUpstreamAbortsItsCallAndAnswers503(String path)
			throws Exception {
		RecordedHangups recorded = this.app.getBean(RecordedHangups.class);
		OutboundCalls calls = this.app.getBean(OutboundCalls.class);
		int receivedBefore = upstream.received("/hang");
		int closedBefore = upstream.peerClosed("/hang");
		Head head;
		String body;
		try (RawHttpClient raw = new RawHttpClient(TestApps.port(this.app), Duration.ofSeconds(30))) {
			raw.send("GET", path);
			upstream.awaitReceived("/hang", receivedBefore + 1);
			CompletableFuture<Void> closing = CompletableFuture.runAsync(this.app::close);
			head = raw.readHead();
			body = raw.readRest().text();
			closing.get(30, TimeUnit.SECONDS);
		}
		assertThat(head.status()).isEqualTo(503);
		assertThat(head.header("connection")).isEqualTo("close");
		assertThat(head.header("content-type")).isEqualTo("application/problem+json");
		assertThat(body).contains("\"hangup\":\"SERVER_CLOSE\"");
		upstream.awaitPeerClosed("/hang", closedBefore + 1);
		assertThat(WaitingController.outcomes.poll(10, TimeUnit.SECONDS))
			.isInstanceOf(HangupResourceAccessException.class)
			.hasCauseInstanceOf(ServerCloseException.class);
		assertThat(WaitingController.outcomes).isEmpty();
		// What both meters count, one event each: the registry itself is closed with the
		// application.
		assertThat(recorded.await(2)).extracting(HangupMeters::describe)
			.containsExactlyInAnyOrder("INBOUND SERVER_CLOSE BEFORE_RESPONSE GET route=" + path,
					"OUTBOUND SERVER_CLOSE BEFORE_RESPONSE GET upstream=127.0.0.1:" + upstream.port());
		assertThat(calls.inFlight()).isZero();
		assertThat(WaitingController.interruptedAfterTheCall).isEmpty();
	}

	/**
	 * Waits on the upstream from a {@code Callable} and from the application's own
	 * executor for a {@code DeferredResult}, and hands what the waiting thread got to the
	 * test.
	 */
	@RestController
	static class WaitingController {

		static final BlockingQueue<Throwable> outcomes = new LinkedBlockingQueue<>();

		/**
		 * Threads still interrupted once the call returned: an interrupt must not outlive
		 * its call.
		 */
		static final BlockingQueue<String> interruptedAfterTheCall = new LinkedBlockingQueue<>();

		private final RestClient restClient;

		private final ThreadPoolTaskExecutor executor;

		WaitingController(RestClient.Builder restClients, Environment environment) {
			this.restClient = restClients.clone().baseUrl(environment.getRequiredProperty("test.upstream")).build();
			// The application's own executor, which carries the request's context to its
			// tasks.
			this.executor = new ThreadPoolTaskExecutor();
			this.executor.setTaskDecorator(new ContextPropagatingTaskDecorator());
			this.executor.setThreadNamePrefix("deferred-");
			this.executor.initialize();
		}

		@Bean
		static RecordedHangups recordedHangups() {
			return new RecordedHangups();
		}

		@GetMapping("/callable")
		Callable<String> callable() {
			return this::hang;
		}

		@GetMapping("/deferred")
		DeferredResult<String> deferred() {
			DeferredResult<String> result = new DeferredResult<>();
			this.executor.execute(() -> {
				try {
					result.setResult(hang());
				}
				catch (RuntimeException ex) {
					result.setErrorResult(ex);
				}
			});
			return result;
		}

		private String hang() {
			try {
				String body = this.restClient.get().uri("/hang").retrieve().body(String.class);
				outcomes.add(new AssertionError("Not stopped: answered " + body));
				return body;
			}
			catch (RuntimeException ex) {
				if (Thread.currentThread().isInterrupted()) {
					interruptedAfterTheCall.add(Thread.currentThread().getName());
				}
				outcomes.add(ex);
				throw ex;
			}
		}

	}

}
