package io.github.hangup.servlet;

import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.Field;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import io.github.hangup.client.OutboundCalls;
import io.github.hangup.support.ClientLeaving;
import io.github.hangup.support.FaultyUpstream;
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
import org.springframework.web.context.request.async.WebAsyncManager;
import org.springframework.web.context.request.async.WebAsyncUtils;
import org.springframework.web.servlet.config.annotation.AsyncSupportConfigurer;
import org.springframework.web.servlet.config.annotation.WebMvcConfigurer;
import org.springframework.web.servlet.mvc.method.annotation.StreamingResponseBody;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A streamed download whose client leaves while its task is still writing, in the
 * interleavings Tomcat's error notification allows. Tomcat tells the request's listeners,
 * Hangup's first, and from the moment one of them returned it refuses an application
 * thread the request's {@code AsyncContext}: the task's dispatch of its result, and even
 * the question whether the request is still asynchronous.
 * <p>
 * Each interleaving is forced by the test's own hooks, on real sockets, and the request
 * is then counted as on every other: once, as its client leaving, on its own route, with
 * nothing logged.
 */
@ExtendWith(OutputCaptureExtension.class)
class MvcLostDispatchTests {

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
		assertThat(HeldErrorHandling.held).as("error handlings held until the task's dispatch").hasValue(1);
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

	/** Relays the upstream's body as it comes. */
	@RestController
	static class StreamingController {

		static final BlockingQueue<Object> released = new LinkedBlockingQueue<>();

		private final RestClient restClient;

		StreamingController(RestClient.Builder restClients, Environment environment) {
			this.restClient = restClients.clone().baseUrl(environment.getRequiredProperty("test.upstream")).build();
		}

		@GetMapping("/streaming/{path}")
		StreamingResponseBody streaming(@PathVariable String path, HttpServletRequest request) {
			HeldErrorHandling.manager.set(WebAsyncUtils.getAsyncManager(request));
			return relay(path);
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
	 * Holds Spring's handling of the container's error notification, once Hangup's
	 * listener has returned, until the task has set its result and tried to dispatch:
	 * Spring does both holding the manager's monitor.
	 */
	static final class HeldErrorHandling implements CallableProcessingInterceptor {

		static final AtomicReference<WebAsyncManager> manager = new AtomicReference<>();

		static final AtomicInteger held = new AtomicInteger();

		@Override
		public <T> Object handleError(NativeWebRequest request, Callable<T> task, Throwable t) {
			WebAsyncManager waited = manager.getAndSet(null);
			if (waited != null) {
				held.incrementAndGet();
				await().atMost(Duration.ofSeconds(10)).until(waited::hasConcurrentResult);
				synchronized (waited) {
					// The task's dispatch was tried.
				}
			}
			return RESULT_NONE;
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
			try {
				Field field = context.getClass().getDeclaredField("hasOnErrorReturned");
				field.setAccessible(true);
				this.onErrorReturned = (AtomicBoolean) field.get(context);
			}
			catch (ReflectiveOperationException ex) {
				throw new IllegalStateException("This test needs Tomcat's AsyncContextImpl.hasOnErrorReturned", ex);
			}
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

}
