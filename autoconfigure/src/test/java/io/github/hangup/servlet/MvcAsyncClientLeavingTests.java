package io.github.hangup.servlet;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;

import io.github.hangup.ClientCancelException;
import io.github.hangup.HangupObservations;
import io.github.hangup.client.OutboundCalls;
import io.github.hangup.metrics.HangupMetrics;
import io.github.hangup.support.ClientLeaving;
import io.github.hangup.support.FaultyUpstream;
import io.github.hangup.support.HangupMeters;
import io.github.hangup.support.RawHttpClient;
import io.github.hangup.support.RawHttpClient.Head;
import io.github.hangup.support.ServletRelay;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.core.env.Environment;
import org.springframework.core.task.support.ContextPropagatingTaskDecorator;
import org.springframework.scheduling.concurrent.ThreadPoolTaskExecutor;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.client.RestClient;
import org.springframework.web.context.request.async.DeferredResult;
import org.springframework.web.context.request.async.WebAsyncTask;
import org.springframework.web.reactive.function.client.WebClient;
import org.springframework.web.servlet.mvc.method.annotation.ResponseBodyEmitter;
import org.springframework.web.servlet.mvc.method.annotation.SseEmitter;
import org.springframework.web.servlet.mvc.method.annotation.StreamingResponseBody;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.params.provider.Arguments.arguments;

/**
 * A client leaving an asynchronous Spring MVC request on Tomcat: an event stream
 * ({@code SseEmitter}), a {@code ResponseBodyEmitter}, a streamed download
 * ({@code StreamingResponseBody}), a {@code DeferredResult} and a {@code WebAsyncTask},
 * each fed by a {@code RestClient} call (Boot's, on the JDK's {@code HttpClient}) made on
 * another thread, or by a {@code WebClient} call (Boot's). The request is counted once as
 * {@code CLIENT_CANCEL}, on {@code http.server.hangups}, {@code http.client.hangups} and
 * Boot's {@code http.server.requests}; its call is stopped (the upstream sees its
 * connection closed); the thread that waited on it is released; nothing is logged above
 * DEBUG.
 * <p>
 * Some requests go on writing after their client left and are found gone at the next
 * write. Others write nothing (they wait on a silent upstream, or their output is still
 * in the response's buffer), which Tomcat alone would not notice before the upstream
 * answers: the valve's watch of the connection finds them.
 */
@ExtendWith(OutputCaptureExtension.class)
class MvcAsyncClientLeavingTests {

	/** Far beyond any wait of these tests: only the client leaving ends these calls. */
	private static final Duration READ_TIMEOUT = Duration.ofSeconds(30);

	private static OutboundCalls calls;

	@RegisterExtension
	static final ServletRelay relay = ServletRelay.of(AsyncController.class, "spring.http.clients.read-timeout=30s");

	@BeforeAll
	static void start() {
		calls = relay.app().getBean(OutboundCalls.class);
	}

	@BeforeEach
	void clear() {
		AsyncController.released.clear();
	}

	@AfterEach
	void nothingLeftWaiting() {
		await().atMost(Duration.ofSeconds(10)).until(() -> calls.inFlight() == 0);
		assertThat(relay.app().getBean(AsyncController.class).executor.getActiveCount()).isZero();
	}

	/**
	 * The client leaves once the first bytes of the response arrived. The upstream then
	 * sends nothing more (/sse), which the request would relay, or a byte every 100 ms
	 * (/trickle) or megabytes (/big), which the request writes on. Boot's client timer
	 * has WebClient's call without a hang-up: WebClient's observation ends with the
	 * response's head.
	 */
	@ParameterizedTest(name = "{0}{1}")
	@MethodSource("streamedResponses")
	void clientLeavingAResponseBeingStreamedIsCountedOnceAndStopsItsCall(String route, String upstreamPath,
			String clientTag, CapturedOutput output) throws Exception {
		int closedBefore = relay.upstream().peerClosed(upstreamPath);
		long left;
		try (RawHttpClient raw = new RawHttpClient(relay.port(), READ_TIMEOUT)) {
			Head head = raw.send("GET", route + upstreamPath).readHead();
			assertThat(head.status()).isEqualTo(200);
			raw.readBytes(1);
			left = System.nanoTime();
			raw.reset();
		}
		assertNoticedSoon(route, "DURING_RESPONSE", left);
		relay.upstream().awaitPeerClosed(upstreamPath, closedBefore + 1);
		ClientLeaving.assertCounted(relay.registry(), route + "/{path}", "DURING_RESPONSE", "DURING_RESPONSE",
				relay.upstream().port(), clientTag);
		assertReleased(route);
		assertQuiet(output);
	}

	/**
	 * The client leaves while the request waits for the upstream's answer (/hang), or,
	 * for a {@code StreamingResponseBody}, while it relays a body too small to fill the
	 * response's buffer (Spring ignores the flushes of a {@code StreamingResponseBody}):
	 * nothing reached the client, nothing fails to.
	 */
	@ParameterizedTest(name = "{0}{1}")
	@MethodSource("silentRequests")
	void clientLeavingARequestThatWritesNothingIsCountedOnceAndStopsItsCall(String route, String upstreamPath,
			String callPhase, CapturedOutput output) throws Exception {
		int receivedBefore = relay.upstream().received(upstreamPath);
		int closedBefore = relay.upstream().peerClosed(upstreamPath);
		long left;
		try (RawHttpClient raw = new RawHttpClient(relay.port(), READ_TIMEOUT)) {
			raw.send("GET", route + upstreamPath);
			relay.upstream().awaitReceived(upstreamPath, receivedBefore + 1);
			left = System.nanoTime();
			raw.reset();
		}
		assertNoticedSoon(route, "BEFORE_RESPONSE", left);
		relay.upstream().awaitPeerClosed(upstreamPath, closedBefore + 1);
		ClientLeaving.assertCounted(relay.registry(), route + "/{path}", "BEFORE_RESPONSE", callPhase,
				relay.upstream().port(), "CLIENT_CANCEL");
		assertReleasedByTheStop(route);
		assertQuiet(output);
	}

	/**
	 * A client may send its next request before the answer to the one before (HTTP/1.1
	 * pipelining): sent while the first waits, it is not taken for the client leaving,
	 * and is answered after the first.
	 */
	@Test
	void requestSentAheadWhileAnotherWaitsIsAnsweredAfterItAndNothingIsCounted() throws Exception {
		int receivedBefore = relay.upstream().received("/trickle");
		Head first;
		byte[] firstBody;
		Head second;
		String secondBody;
		try (RawHttpClient raw = new RawHttpClient(relay.port(), READ_TIMEOUT)) {
			raw.send("GET", "/deferred/trickle");
			relay.upstream().awaitReceived("/trickle", receivedBefore + 1);
			// The upstream's answer takes a second: the connection is watched meanwhile.
			raw.send("GET", "/deferred/ok", "Connection: close");
			first = raw.readHead();
			firstBody = raw.readBytes(Integer.parseInt(first.header("content-length")));
			second = raw.readHead();
			secondBody = raw.readRest().text();
		}
		assertThat(first.status()).isEqualTo(200);
		assertThat(new String(firstBody, StandardCharsets.US_ASCII))
			.isEqualTo("x".repeat(FaultyUpstream.TRICKLE_CHUNKS));
		assertThat(second.status()).isEqualTo(200);
		assertThat(secondBody).isEqualTo("hello");
		HangupMeters.awaitCounts(relay.registry(), "http.server.requests",
				Map.of("hangup=NONE,status=200,uri=/deferred/{path}", 2L), HangupObservations.KEY, "status", "uri");
		HangupMeters.awaitCounts(relay.registry(), HangupMetrics.SERVER_HANGUPS, Map.of());
		HangupMeters.awaitClientHangups(relay.registry(), Map.of());
		assertThat(AsyncController.released).containsExactly("answered " + "x".repeat(FaultyUpstream.TRICKLE_CHUNKS),
				"answered hello");
	}

	/**
	 * The route, the upstream's path, and the hangup key of the call on Boot's client
	 * timer.
	 */
	static Stream<Arguments> streamedResponses() {
		return Stream.of(arguments("/sse-emitter", "/sse", "CLIENT_CANCEL"),
				arguments("/sse-emitter", "/trickle", "CLIENT_CANCEL"),
				arguments("/emitter-web-client", "/sse", "NONE"), arguments("/emitter-web-client", "/trickle", "NONE"),
				arguments("/streaming", "/big", "CLIENT_CANCEL"));
	}

	/** The route, the upstream's path, and the phase of the call when the client left. */
	static Stream<Arguments> silentRequests() {
		return Stream.of(arguments("/deferred", "/hang", "BEFORE_RESPONSE"),
				arguments("/deferred-web-client", "/hang", "BEFORE_RESPONSE"),
				arguments("/web-async-task", "/hang", "BEFORE_RESPONSE"),
				arguments("/streaming", "/stream", "DURING_RESPONSE"),
				arguments("/streaming", "/trickle", "DURING_RESPONSE"));
	}

	/**
	 * The client leaving is known within a second: at the next write, or from the watch
	 * of the connection for a request that writes nothing.
	 */
	private static void assertNoticedSoon(String route, String phase, long left) {
		String key = "kind=CLIENT_CANCEL,method=GET,phase=" + phase + ",uri=" + route + "/{path}";
		await().atMost(Duration.ofSeconds(10))
			.pollInterval(Duration.ofMillis(2))
			.until(() -> HangupMeters.counts(relay.registry(), HangupMetrics.SERVER_HANGUPS).containsKey(key));
		assertThat(Duration.ofNanos(System.nanoTime() - left)).as("time to notice the client leaving %s", route)
			.isLessThan(Duration.ofSeconds(1));
	}

	/**
	 * The thread that relayed the call's answer ended with an error: its send failed, its
	 * write failed, or its call was stopped under it.
	 */
	private static void assertReleased(String route) throws InterruptedException {
		Object released = AsyncController.released.poll(10, TimeUnit.SECONDS);
		assertThat(released).as("what the thread of %s got", route).isInstanceOf(Exception.class);
		assertThat(AsyncController.released).isEmpty();
	}

	/** The thread that waited on the call was released by the stop. */
	private static void assertReleasedByTheStop(String route) throws InterruptedException {
		Object released = AsyncController.released.poll(10, TimeUnit.SECONDS);
		assertThat(released).as("what the thread of %s got", route).isInstanceOf(Exception.class);
		assertThat(ClientLeaving.causes((Throwable) released)).as("what the thread of %s got", route)
			.hasAtLeastOneElementOfType(ClientCancelException.class);
		assertThat(AsyncController.released).isEmpty();
	}

	private static void assertQuiet(CapturedOutput output) {
		assertThat(output).doesNotContain(" ERROR ")
			.doesNotContain(" WARN ")
			.doesNotContain("Servlet.service()")
			.doesNotContain("Broken pipe")
			.doesNotContain("Connection reset by peer");
	}

	/**
	 * Feeds asynchronous responses from the upstream: on the application's own executor,
	 * which carries the request's context to its tasks, from MVC's own task executor, or
	 * from a {@code WebClient}'s subscription. Hands what each feeding thread ended with
	 * to the test.
	 */
	@RestController
	static class AsyncController {

		static final BlockingQueue<Object> released = new LinkedBlockingQueue<>();

		private final RestClient restClient;

		private final WebClient webClient;

		final ThreadPoolTaskExecutor executor;

		AsyncController(RestClient.Builder restClients, WebClient.Builder webClients, Environment environment) {
			String upstream = environment.getRequiredProperty("test.upstream");
			this.restClient = restClients.clone().baseUrl(upstream).build();
			this.webClient = webClients.clone().baseUrl(upstream).build();
			this.executor = new ThreadPoolTaskExecutor();
			this.executor.setTaskDecorator(new ContextPropagatingTaskDecorator());
			this.executor.setThreadNamePrefix("producer-");
			this.executor.initialize();
		}

		/**
		 * Relays the upstream's body as events. A send that fails is not followed by
		 * {@code completeWithError}: the container reports it, and Spring MVC ends the
		 * request (see {@link ResponseBodyEmitter#send(Object)}).
		 */
		@GetMapping("/sse-emitter/{path}")
		SseEmitter sseEmitter(@PathVariable String path) {
			SseEmitter emitter = new SseEmitter(READ_TIMEOUT.toMillis());
			this.executor.execute(() -> {
				AtomicBoolean sendFailed = new AtomicBoolean();
				try {
					this.restClient.get().uri("/" + path).exchange((request, response) -> {
						relay(response.getBody(), (text) -> send(emitter, text, sendFailed));
						return null;
					});
					emitter.complete();
					released.add("completed");
				}
				catch (RuntimeException ex) {
					released.add(ex);
					if (!sendFailed.get()) {
						emitter.completeWithError(ex);
					}
				}
			});
			return emitter;
		}

		@GetMapping("/streaming/{path}")
		StreamingResponseBody streaming(@PathVariable String path) {
			return (out) -> {
				try {
					this.restClient.get().uri("/" + path).exchange((request, response) -> {
						relay(response.getBody(), (text) -> write(text, out));
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

		@GetMapping("/emitter-web-client/{path}")
		ResponseBodyEmitter emitterWebClient(@PathVariable String path) {
			ResponseBodyEmitter emitter = new ResponseBodyEmitter(READ_TIMEOUT.toMillis());
			AtomicBoolean sendFailed = new AtomicBoolean();
			this.webClient.get()
				.uri("/" + path)
				.retrieve()
				.bodyToFlux(byte[].class)
				.subscribe((bytes) -> send(emitter, bytes, sendFailed), (ex) -> {
					released.add(ex);
					if (!sendFailed.get()) {
						emitter.completeWithError(ex);
					}
				}, () -> {
					released.add("completed");
					emitter.complete();
				});
			return emitter;
		}

		@GetMapping("/deferred/{path}")
		DeferredResult<String> deferred(@PathVariable String path) {
			DeferredResult<String> result = new DeferredResult<>(READ_TIMEOUT.toMillis());
			this.executor.execute(() -> {
				try {
					result.setResult(call(path));
				}
				catch (RuntimeException ex) {
					result.setErrorResult(ex);
				}
			});
			return result;
		}

		@GetMapping("/deferred-web-client/{path}")
		DeferredResult<String> deferredWebClient(@PathVariable String path) {
			DeferredResult<String> result = new DeferredResult<>(READ_TIMEOUT.toMillis());
			this.webClient.get().uri("/" + path).retrieve().bodyToMono(String.class).subscribe((body) -> {
				released.add("answered " + body);
				result.setResult(body);
			}, (ex) -> {
				released.add(ex);
				result.setErrorResult(ex);
			});
			return result;
		}

		@GetMapping("/web-async-task/{path}")
		WebAsyncTask<String> webAsyncTask(@PathVariable String path) {
			Callable<String> task = () -> call(path);
			return new WebAsyncTask<>(READ_TIMEOUT.toMillis(), task);
		}

		private String call(String path) {
			try {
				String body = this.restClient.get().uri("/" + path).retrieve().body(String.class);
				released.add("answered " + body);
				return body;
			}
			catch (RuntimeException ex) {
				released.add(ex);
				throw ex;
			}
		}

		/** Passes on what the upstream sends as it comes, one read at a time. */
		private static void relay(InputStream body, Sink sink) throws IOException {
			byte[] buffer = new byte[8192];
			int read;
			while ((read = body.read(buffer)) != -1) {
				sink.send(new String(buffer, 0, read, StandardCharsets.UTF_8));
			}
		}

		/**
		 * Sends, and notes a send that failed: an I/O error, or, once Spring MVC has
		 * ended the request for the error the container reported, an
		 * {@link IllegalStateException}.
		 */
		private static void send(ResponseBodyEmitter emitter, Object data, AtomicBoolean failed) {
			try {
				emitter.send(data);
			}
			catch (IOException ex) {
				failed.set(true);
				throw new UncheckedIOException(ex);
			}
			catch (IllegalStateException ex) {
				failed.set(true);
				throw ex;
			}
		}

		private static void write(String text, OutputStream out) throws IOException {
			out.write(text.getBytes(StandardCharsets.UTF_8));
			out.flush();
		}

		@FunctionalInterface
		interface Sink {

			void send(String text) throws IOException;

		}

	}

}
