package io.github.hangup.servlet;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import io.github.hangup.ClientCancelException;
import io.github.hangup.HangupObservations;
import io.github.hangup.client.OutboundCalls;
import io.github.hangup.metrics.HangupMetrics;
import io.github.hangup.support.HangupMeters;
import io.github.hangup.support.RawHttpClient;
import io.github.hangup.support.ServletRelay;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.slf4j.MDC;

import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.boot.http.client.ClientHttpRequestFactoryBuilder;
import org.springframework.boot.http.client.HttpClientSettings;
import org.springframework.core.env.Environment;
import org.springframework.core.task.AsyncTaskExecutor;
import org.springframework.core.task.TaskDecorator;
import org.springframework.core.task.support.ContextPropagatingTaskDecorator;
import org.springframework.scheduling.concurrent.ThreadPoolTaskExecutor;
import org.springframework.util.ClassUtils;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.client.ResourceAccessException;
import org.springframework.web.client.RestClient;
import org.springframework.web.context.request.async.DeferredResult;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;
import static org.awaitility.Awaitility.await;

/**
 * Calls made on another thread than the request's join its scope through context
 * propagation: on Boot's {@code applicationTaskExecutor} with
 * {@code spring.task.execution.propagate-context=true} (Boot 4.1), which decorates it
 * with a {@link ContextPropagatingTaskDecorator}, a {@code DeferredResult}'s call is
 * stopped when its client leaves. A plain {@link TaskDecorator} carries only what it
 * copies itself: a call on such an executor is not the request's, and runs on to its own
 * end.
 */
class MvcContextPropagationTests {

	private static final Duration READ_TIMEOUT = Duration.ofSeconds(30);

	/** The read timeout of the call that is not the request's: its only end. */
	private static final Duration DETACHED_READ_TIMEOUT = Duration.ofSeconds(2);

	@RegisterExtension
	static final ServletRelay relay = ServletRelay.of(PropagatingController.class,
			"spring.http.clients.read-timeout=30s", "spring.task.execution.propagate-context=true");

	@BeforeEach
	void clear() {
		PropagatingController.released.clear();
	}

	@Test
	void callOnBootsTaskExecutorWithContextPropagationIsStoppedWhenItsClientLeaves() throws Exception {
		assumeThat(ClassUtils.isPresent(
				"org.springframework.boot.autoconfigure.task.TaskExecutorConfigurations$TaskExecutorContextPropagationConfiguration",
				null))
			.as("spring.task.execution.propagate-context (Boot 4.1)")
			.isTrue();
		leaveWhileWaiting("/application-executor");
		HangupMeters.awaitCounts(relay.registry(), HangupMetrics.SERVER_HANGUPS,
				Map.of("kind=CLIENT_CANCEL,method=GET,phase=BEFORE_RESPONSE,uri=/application-executor", 1L));
		HangupMeters.awaitClientHangups(relay.registry(), Map.of(
				"kind=CLIENT_CANCEL,method=GET,phase=BEFORE_RESPONSE,upstream=127.0.0.1:" + relay.upstream().port(),
				1L));
		HangupMeters.awaitCounts(relay.registry(), "http.server.requests",
				Map.of("hangup=CLIENT_CANCEL,uri=/application-executor", 1L), HangupObservations.KEY, "uri");
		HangupMeters.awaitCounts(relay.registry(), "http.client.requests", Map.of("hangup=CLIENT_CANCEL", 1L),
				HangupObservations.KEY);
		assertThat(PropagatingController.released.poll(10, TimeUnit.SECONDS))
			.isInstanceOf(ResourceAccessException.class)
			.hasCauseInstanceOf(ClientCancelException.class);
		assertNothingLeftWaiting();
	}

	@Test
	void callOnAnExecutorWithAPlainTaskDecoratorIsNotTheRequestsAndRunsToItsOwnEnd() throws Exception {
		long left = leaveWhileWaiting("/plain-decorator");
		HangupMeters.awaitCounts(relay.registry(), HangupMetrics.SERVER_HANGUPS,
				Map.of("kind=CLIENT_CANCEL,method=GET,phase=BEFORE_RESPONSE,uri=/plain-decorator", 1L));
		// Not stopped: the call ends at its read timeout, a hang-up of its own.
		HangupMeters.awaitClientHangups(relay.registry(), Map.of(
				"kind=UPSTREAM_TIMEOUT,method=GET,phase=BEFORE_RESPONSE,upstream=127.0.0.1:" + relay.upstream().port(),
				1L));
		assertThat(Duration.ofNanos(System.nanoTime() - left))
			.isGreaterThanOrEqualTo(DETACHED_READ_TIMEOUT.minusMillis(500));
		assertThat(PropagatingController.released.poll(10, TimeUnit.SECONDS))
			.isInstanceOf(ResourceAccessException.class);
		assertNothingLeftWaiting();
	}

	/** Leaves while the request's call waits on an upstream that never answers. */
	private static long leaveWhileWaiting(String path) throws Exception {
		int receivedBefore = relay.upstream().received("/hang");
		int closedBefore = relay.upstream().peerClosed("/hang");
		long left;
		try (RawHttpClient raw = new RawHttpClient(relay.port(), READ_TIMEOUT)) {
			raw.send("GET", path);
			relay.upstream().awaitReceived("/hang", receivedBefore + 1);
			left = System.nanoTime();
			raw.reset();
		}
		relay.upstream().awaitPeerClosed("/hang", closedBefore + 1);
		return left;
	}

	private static void assertNothingLeftWaiting() {
		assertThat(PropagatingController.released).isEmpty();
		await().atMost(Duration.ofSeconds(10)).until(() -> relay.app().getBean(OutboundCalls.class).inFlight() == 0);
	}

	/**
	 * Waits on the upstream from Boot's task executor, and from an executor of the
	 * application's whose decorator copies the logging context only.
	 */
	@RestController
	static class PropagatingController {

		static final BlockingQueue<Throwable> released = new LinkedBlockingQueue<>();

		private final RestClient restClient;

		private final RestClient detachedRestClient;

		private final AsyncTaskExecutor applicationExecutor;

		private final ThreadPoolTaskExecutor plainExecutor;

		PropagatingController(RestClient.Builder restClients, ClientHttpRequestFactoryBuilder<?> requestFactories,
				@Qualifier("applicationTaskExecutor") AsyncTaskExecutor applicationExecutor, Environment environment) {
			String upstream = environment.getRequiredProperty("test.upstream");
			this.restClient = restClients.clone().baseUrl(upstream).build();
			this.detachedRestClient = restClients.clone()
				.baseUrl(upstream)
				.requestFactory(
						requestFactories.build(HttpClientSettings.defaults().withReadTimeout(DETACHED_READ_TIMEOUT)))
				.build();
			this.applicationExecutor = applicationExecutor;
			this.plainExecutor = new ThreadPoolTaskExecutor();
			this.plainExecutor.setTaskDecorator(new MdcTaskDecorator());
			this.plainExecutor.initialize();
		}

		@GetMapping("/application-executor")
		DeferredResult<String> applicationExecutor() {
			return waitOn(this.restClient, this.applicationExecutor);
		}

		@GetMapping("/plain-decorator")
		DeferredResult<String> plainDecorator() {
			return waitOn(this.detachedRestClient, this.plainExecutor);
		}

		private static DeferredResult<String> waitOn(RestClient restClient, AsyncTaskExecutor executor) {
			DeferredResult<String> result = new DeferredResult<>(READ_TIMEOUT.toMillis());
			executor.execute(() -> {
				try {
					result.setResult(restClient.get().uri("/hang").retrieve().body(String.class));
				}
				catch (RuntimeException ex) {
					released.add(ex);
					result.setErrorResult(ex);
				}
			});
			return result;
		}

	}

	/** Copies the logging context to the task's thread, and nothing else. */
	static class MdcTaskDecorator implements TaskDecorator {

		@Override
		public Runnable decorate(Runnable runnable) {
			Map<String, String> context = MDC.getCopyOfContextMap();
			return () -> {
				Map<String, String> previous = MDC.getCopyOfContextMap();
				if (context != null) {
					MDC.setContextMap(context);
				}
				try {
					runnable.run();
				}
				finally {
					if (previous != null) {
						MDC.setContextMap(previous);
					}
					else {
						MDC.clear();
					}
				}
			};
		}

	}

}
