package io.github.hangup.servlet;

import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.Field;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import io.github.hangup.HangupObservations;
import io.github.hangup.client.OutboundCalls;
import io.github.hangup.metrics.HangupMetrics;
import io.github.hangup.support.ClientLeaving;
import io.github.hangup.support.FaultyUpstream;
import io.github.hangup.support.HangupMeters;
import io.github.hangup.support.RawHttpClient;
import io.github.hangup.support.RawHttpClient.Head;
import io.github.hangup.support.ServletTestApps;
import io.github.hangup.support.TestApps;
import io.micrometer.core.instrument.MeterRegistry;
import jakarta.servlet.AsyncContext;
import jakarta.servlet.Filter;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletOutputStream;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.WriteListener;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.servlet.http.HttpServletResponseWrapper;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.boot.web.servlet.FilterRegistrationBean;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.core.env.Environment;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.client.RestClient;
import org.springframework.web.context.request.NativeWebRequest;
import org.springframework.web.context.request.async.CallableProcessingInterceptor;
import org.springframework.web.context.request.async.DeferredResult;
import org.springframework.web.context.request.async.WebAsyncManager;
import org.springframework.web.context.request.async.WebAsyncUtils;
import org.springframework.web.servlet.config.annotation.AsyncSupportConfigurer;
import org.springframework.web.servlet.config.annotation.WebMvcConfigurer;
import org.springframework.web.servlet.mvc.method.annotation.StreamingResponseBody;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Requests whose client leaves while Tomcat tells the request's listeners, in the
 * interleavings that notification allows. From the moment one listener returned from
 * {@code onError}, Tomcat refuses an application thread the request's
 * {@code AsyncContext}: a dispatch of its result, and even the question whether the
 * request is still asynchronous. Hangup listens ahead of Spring MVC only to a request
 * whose task is about to run (it stops the task's calls before Spring interrupts it);
 * each request ends as on every other interleaving.
 * <p>
 * Each interleaving is forced by the test's own hooks, on real sockets: the request is
 * counted once, as its client leaving, on its own route, with nothing logged.
 */
@ExtendWith(OutputCaptureExtension.class)
class MvcTomcatErrorNotificationTests {

	private static final Duration READ_TIMEOUT = Duration.ofSeconds(30);

	private static FaultyUpstream upstream;

	private static ConfigurableApplicationContext app;

	private static MeterRegistry registry;

	@BeforeAll
	static void start() throws Exception {
		upstream = new FaultyUpstream();
		app = ServletTestApps.start(StreamingController.class, "test.upstream=" + upstream.baseUrl(),
				"spring.http.clients.imperative.factory=jdk", "spring.http.clients.read-timeout=30s");
		registry = app.getBean(MeterRegistry.class);
	}

	@BeforeEach
	void clear() {
		registry.clear();
		StreamingController.released.clear();
		StreamingController.pending.set(null);
		HeldErrorHandling.manager.set(null);
		HeldErrorHandling.held.set(0);
		HeldFailedWrite.held.set(0);
	}

	@AfterAll
	static void stop() throws Exception {
		app.close();
		upstream.close();
	}

	@Test
	void downloadWhoseTaskTomcatRefusedToDispatchIsCountedOnItsRouteAndStopsItsCall(CapturedOutput output)
			throws Exception {
		leaveDuringTheDownload("/streaming/big");
		assertThat(StreamingController.released.poll(10, TimeUnit.SECONDS)).isInstanceOf(Exception.class);
		// The task may end before the container's thread reaches Spring's handling.
		await().atMost(Duration.ofSeconds(10))
			.untilAsserted(() -> assertThat(HeldErrorHandling.held).as("error handlings held until the task's dispatch")
				.hasValue(1));
		assertCountedOnceAndQuiet("/streaming/{path}", output);
	}

	/**
	 * The task's write fails while Tomcat already tells the request's listeners of the
	 * error: once Hangup's listener returned, Tomcat refuses the task's thread even the
	 * question whether the request is still asynchronous. The write's failure is still
	 * the client leaving, counted once on the request's route, and nothing is logged.
	 * Forced by a filter that holds the failed write until Hangup's listener returned.
	 */
	@Test
	void writeFailingAfterHangupsListenerReturnedIsTheClientLeaving(CapturedOutput output) throws Exception {
		leaveDuringTheDownload("/held-write/big");
		Object released = StreamingController.released.poll(10, TimeUnit.SECONDS);
		assertThat(released).isInstanceOf(Exception.class);
		assertThat(ClientLeaving.causes((Throwable) released)).noneMatch(IllegalStateException.class::isInstance);
		assertThat(HeldFailedWrite.held).as("failed writes held until Hangup's listener returned").hasValue(1);
		assertCountedOnceAndQuiet("/held-write/{path}", output);
	}

	/**
	 * An application's thread sets a {@code DeferredResult} while Spring MVC handles the
	 * error notification (forced: the result's own {@code onError} callback hands the
	 * answer to another thread and waits for it). Without Hangup, Spring's listener is
	 * the first and has not returned: the result is set and dispatched. So it is with
	 * Hangup, whose listeners of such a request come after Spring's.
	 */
	@Test
	void deferredResultSetByAnotherThreadWhileSpringHandlesTheErrorIsSetAndDispatched(CapturedOutput output)
			throws Exception {
		try (RawHttpClient raw = new RawHttpClient(TestApps.port(app), READ_TIMEOUT)) {
			raw.send("GET", "/deferred-late");
			await().atMost(Duration.ofSeconds(10)).until(() -> StreamingController.pending.get() != null);
			raw.reset();
		}
		assertThat(StreamingController.released.poll(10, TimeUnit.SECONDS)).as("what setResult returned or threw")
			.isEqualTo(Boolean.TRUE);
		HangupMeters.awaitCounts(registry, HangupMetrics.SERVER_HANGUPS,
				Map.of("kind=CLIENT_CANCEL,method=GET,phase=BEFORE_RESPONSE,uri=/deferred-late", 1L));
		HangupMeters.awaitCounts(registry, "http.server.requests",
				Map.of("hangup=CLIENT_CANCEL,method=GET,uri=/deferred-late", 1L), HangupObservations.KEY, "method",
				"uri");
		assertThat(output).doesNotContain(" ERROR ").doesNotContain(" WARN ");
	}

	/**
	 * Starts the download of the upstream's big body, and resets the connection once its
	 * first byte arrived; returns once the upstream saw its call stopped.
	 */
	private static void leaveDuringTheDownload(String target) throws IOException {
		int closedBefore = upstream.peerClosed("/big");
		try (RawHttpClient raw = new RawHttpClient(TestApps.port(app), READ_TIMEOUT)) {
			Head head = raw.send("GET", target).readHead();
			assertThat(head.status()).isEqualTo(200);
			raw.readBytes(1);
			raw.reset();
		}
		upstream.awaitPeerClosed("/big", closedBefore + 1);
	}

	private static void assertCountedOnceAndQuiet(String route, CapturedOutput output) {
		ClientLeaving.assertCounted(registry, route, "DURING_RESPONSE", "DURING_RESPONSE", upstream.port(),
				"CLIENT_CANCEL");
		await().atMost(Duration.ofSeconds(10)).until(() -> app.getBean(OutboundCalls.class).inFlight() == 0);
		assertThat(output).doesNotContain(" ERROR ").doesNotContain(" WARN ");
	}

	/** Relays the upstream's body as it comes, or answers late. */
	@RestController
	static class StreamingController {

		static final BlockingQueue<Object> released = new LinkedBlockingQueue<>();

		static final AtomicReference<DeferredResult<String>> pending = new AtomicReference<>();

		private final RestClient restClient;

		StreamingController(RestClient.Builder restClients, Environment environment) {
			this.restClient = restClients.clone().baseUrl(environment.getRequiredProperty("test.upstream")).build();
		}

		@GetMapping("/streaming/{path}")
		StreamingResponseBody streaming(@PathVariable String path, HttpServletRequest request) {
			HeldErrorHandling.manager.set(WebAsyncUtils.getAsyncManager(request));
			return relay(path);
		}

		@GetMapping("/deferred-late")
		DeferredResult<String> deferredLate() {
			DeferredResult<String> result = new DeferredResult<>(READ_TIMEOUT.toMillis());
			result.onError((error) -> {
				CompletableFuture<Boolean> set = CompletableFuture.supplyAsync(() -> result.setResult("late"));
				try {
					released.add(set.get(10, TimeUnit.SECONDS));
				}
				catch (ExecutionException ex) {
					released.add(ex.getCause());
				}
				catch (InterruptedException | TimeoutException ex) {
					released.add(ex);
				}
			});
			pending.set(result);
			return result;
		}

		@GetMapping("/held-write/{path}")
		StreamingResponseBody heldWrite(@PathVariable String path) {
			return relay(path);
		}

		private StreamingResponseBody relay(String path) {
			return (out) -> {
				try {
					this.restClient.get().uri("/" + path).exchange((req, response) -> {
						InputStream body = response.getBody();
						byte[] buffer = new byte[8192];
						int read;
						while ((read = body.read(buffer)) != -1) {
							out.write(buffer, 0, read);
							out.flush();
						}
						return null;
					});
					released.add("completed");
				}
				catch (RuntimeException ex) {
					released.add(ex);
					throw ex;
				}
			};
		}

		@Bean
		FilterRegistrationBean<HeldFailedWrite> heldFailedWrite() {
			// Outside Hangup's filter: a failed write reaches this stream before
			// Hangup's.
			FilterRegistrationBean<HeldFailedWrite> registration = new FilterRegistrationBean<>(new HeldFailedWrite());
			registration.setOrder(HangupServletFilter.ORDER - 1);
			registration.addUrlPatterns("/held-write/*");
			return registration;
		}

		@Bean
		WebMvcConfigurer heldErrorHandling() {
			return new WebMvcConfigurer() {

				@Override
				public void configureAsyncSupport(AsyncSupportConfigurer configurer) {
					configurer.registerCallableInterceptors(new HeldErrorHandling());
				}

			};
		}

	}

	/**
	 * Holds the task of the request under test, its call ended, until one of the
	 * request's listeners returned from the container's error notification (Hangup's, the
	 * first); and holds Spring's handling of that notification, which runs after, until
	 * the task has set its result and tried to dispatch it (Spring does both holding the
	 * manager's monitor).
	 */
	static final class HeldErrorHandling implements CallableProcessingInterceptor {

		static final AtomicReference<@Nullable WebAsyncManager> manager = new AtomicReference<>();

		static final AtomicInteger held = new AtomicInteger();

		private final AtomicReference<@Nullable AtomicBoolean> onErrorReturned = new AtomicReference<>();

		@Override
		public <T> void preProcess(NativeWebRequest request, Callable<T> task) {
			HttpServletRequest servlet = request.getNativeRequest(HttpServletRequest.class);
			if (isHeld(request) && servlet != null) {
				this.onErrorReturned.set(onErrorReturned(servlet.getAsyncContext()));
			}
		}

		@Override
		public <T> void postProcess(NativeWebRequest request, Callable<T> task, @Nullable Object result) {
			AtomicBoolean returned = this.onErrorReturned.getAndSet(null);
			if (isHeld(request) && returned != null) {
				await().atMost(Duration.ofSeconds(10)).untilTrue(returned);
			}
		}

		@Override
		public <T> Object handleError(NativeWebRequest request, Callable<T> task, Throwable t) {
			WebAsyncManager waited = manager.get();
			if (waited != null && isHeld(request)) {
				held.incrementAndGet();
				await().atMost(Duration.ofSeconds(10)).until(waited::hasConcurrentResult);
				synchronized (waited) {
					// The task's dispatch was tried.
				}
			}
			return RESULT_NONE;
		}

		private static boolean isHeld(NativeWebRequest request) {
			WebAsyncManager waited = manager.get();
			return waited != null && WebAsyncUtils.getAsyncManager(request) == waited;
		}

	}

	/**
	 * Holds a write that failed until one of the request's listeners returned from
	 * {@code onError} (Hangup's, the first), read from Tomcat's own flag.
	 */
	static final class HeldFailedWrite implements Filter {

		static final AtomicInteger held = new AtomicInteger();

		@Override
		public void doFilter(ServletRequest request, ServletResponse response, FilterChain chain)
				throws IOException, ServletException {
			HttpServletRequest http = (HttpServletRequest) request;
			chain.doFilter(request, new HttpServletResponseWrapper((HttpServletResponse) response) {

				private @Nullable ServletOutputStream output;

				@Override
				public ServletOutputStream getOutputStream() throws IOException {
					if (this.output == null) {
						this.output = new HeldStream(super.getOutputStream(), http.getAsyncContext());
					}
					return this.output;
				}

			});
		}

	}

	private static final class HeldStream extends ServletOutputStream {

		private final ServletOutputStream delegate;

		private final AtomicBoolean onErrorReturned;

		HeldStream(ServletOutputStream delegate, AsyncContext context) {
			this.delegate = delegate;
			this.onErrorReturned = onErrorReturned(context);
		}

		@Override
		public void write(int b) throws IOException {
			write(new byte[] { (byte) b }, 0, 1);
		}

		@Override
		public void write(byte[] b, int off, int len) throws IOException {
			try {
				this.delegate.write(b, off, len);
			}
			catch (IOException ex) {
				hold();
				throw ex;
			}
		}

		@Override
		public void flush() throws IOException {
			try {
				this.delegate.flush();
			}
			catch (IOException ex) {
				hold();
				throw ex;
			}
		}

		private void hold() {
			if (HeldFailedWrite.held.getAndIncrement() == 0) {
				await().atMost(Duration.ofSeconds(10)).untilTrue(this.onErrorReturned);
			}
		}

		@Override
		public boolean isReady() {
			return this.delegate.isReady();
		}

		@Override
		public void setWriteListener(WriteListener listener) {
			this.delegate.setWriteListener(listener);
		}

	}

	/**
	 * Tomcat's flag, set once one of the request's listeners returned from
	 * {@code onError}: from then on, it refuses the request's {@code AsyncContext} to
	 * application threads.
	 */
	static AtomicBoolean onErrorReturned(AsyncContext context) {
		try {
			Field field = context.getClass().getDeclaredField("hasOnErrorReturned");
			field.setAccessible(true);
			return (AtomicBoolean) field.get(context);
		}
		catch (ReflectiveOperationException ex) {
			throw new IllegalStateException("These tests need Tomcat's AsyncContextImpl.hasOnErrorReturned", ex);
		}
	}

}
