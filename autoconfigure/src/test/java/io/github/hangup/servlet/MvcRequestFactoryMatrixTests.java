package io.github.hangup.servlet;

import java.io.IOException;
import java.io.OutputStream;
import java.lang.reflect.Field;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;

import io.github.hangup.ClientCancelException;
import io.github.hangup.HangupException;
import io.github.hangup.HangupObservations;
import io.github.hangup.UpstreamProtocolErrorException;
import io.github.hangup.UpstreamResetException;
import io.github.hangup.UpstreamTimeoutException;
import io.github.hangup.UpstreamUnreachableException;
import io.github.hangup.client.OutboundCalls;
import io.github.hangup.client.blocking.HangupResourceAccessException;
import io.github.hangup.support.Answer;
import io.github.hangup.support.FaultyUpstream;
import io.github.hangup.support.HangupMeters;
import io.github.hangup.support.RawHttpClient;
import io.github.hangup.support.RawHttpClient.Head;
import io.github.hangup.support.ServletTestApps;
import io.github.hangup.support.TestApps;
import io.micrometer.core.instrument.MeterRegistry;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import org.springframework.boot.restclient.RestTemplateBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.core.env.Environment;
import org.springframework.core.task.support.ContextPropagatingTaskDecorator;
import org.springframework.http.HttpMethod;
import org.springframework.http.StreamingHttpOutputMessage;
import org.springframework.http.client.ClientHttpRequestFactory;
import org.springframework.http.client.HttpComponentsClientHttpRequestFactory;
import org.springframework.http.client.JdkClientHttpRequestFactory;
import org.springframework.http.client.JettyClientHttpRequestFactory;
import org.springframework.http.client.ReactorClientHttpRequestFactory;
import org.springframework.scheduling.concurrent.ThreadPoolTaskExecutor;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.client.RestClient;
import org.springframework.web.client.RestClientException;
import org.springframework.web.client.RestTemplate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The fault matrix of the blocking clients on every request factory Boot can build for
 * them: the JDK {@code HttpClient}, Apache HttpClient 5, the Jetty client and Reactor
 * Netty, each picked with {@code spring.http.clients.imperative.factory} in an MVC
 * application on Tomcat. Each fault is relayed through {@code RestClient} on each factory
 * and through {@code RestTemplate} on Apache HttpClient 5, and each asserts the answer,
 * the exception the calling code got, and the exact counts on both hang-up meters and on
 * Boot's server and client timers; a client leaving before the upstream answered aborts
 * the call (the upstream sees its connection closed) and releases the waiting thread, and
 * one leaving mid-body aborts the relayed call without draining its body.
 */
class MvcRequestFactoryMatrixTests {

	/**
	 * Every factory's response timeout: the one of its two settings the application gave.
	 */
	private static final Duration RESPONSE_TIMEOUT = Duration.ofSeconds(2);

	private static final Duration READ_TIMEOUT = Duration.ofSeconds(20);

	private static final Map<String, Class<? extends ClientHttpRequestFactory>> FACTORIES = Map.of("jdk",
			JdkClientHttpRequestFactory.class, "http-components", HttpComponentsClientHttpRequestFactory.class, "jetty",
			JettyClientHttpRequestFactory.class, "reactor", ReactorClientHttpRequestFactory.class);

	private static final Map<String, ConfigurableApplicationContext> apps = new LinkedHashMap<>();

	private static FaultyUpstream upstream;

	private static int refusedPort;

	@BeforeAll
	static void start() throws Exception {
		upstream = new FaultyUpstream();
		refusedPort = FaultyUpstream.refusedPort();
		for (String factory : FACTORIES.keySet()) {
			// Boot's read timeout for two factories, Hangup's (which comes first) for the
			// two others.
			String timeout = (factory.equals("jdk") || factory.equals("reactor"))
					? "spring.http.clients.read-timeout=" + RESPONSE_TIMEOUT.toMillis() + "ms"
					: "hangup.client.response-timeout=" + RESPONSE_TIMEOUT.toMillis() + "ms";
			apps.put(factory, ServletTestApps.start(MatrixController.class, "test.upstream=" + upstream.baseUrl(),
					"test.refused=http://127.0.0.1:" + refusedPort, "spring.http.clients.imperative.factory=" + factory,
					"spring.http.clients.read-timeout=60s", timeout));
		}
	}

	@AfterAll
	static void stop() throws Exception {
		for (ConfigurableApplicationContext app : apps.values()) {
			app.close();
		}
		upstream.close();
	}

	@BeforeEach
	void clear() {
		for (ConfigurableApplicationContext app : apps.values()) {
			app.getBean(MeterRegistry.class).clear();
			app.getBean(MatrixController.class).outcomes.clear();
		}
	}

	@AfterEach
	void nothingLeftInFlight() {
		for (ConfigurableApplicationContext app : apps.values()) {
			OutboundCalls calls = app.getBean(OutboundCalls.class);
			await().atMost(Duration.ofSeconds(10)).until(() -> calls.inFlight() == 0);
		}
	}

	static Stream<Arguments> factoriesAndClients() {
		return Stream.of(Arguments.of("jdk", "rest-client"), Arguments.of("http-components", "rest-client"),
				Arguments.of("http-components", "rest-template"), Arguments.of("jetty", "rest-client"),
				Arguments.of("reactor", "rest-client"));
	}

	@ParameterizedTest
	@ValueSource(strings = { "jdk", "http-components", "jetty", "reactor" })
	void eachApplicationBuildsItsClientsOnTheFactoryItIsGiven(String factory) throws Exception {
		ClientHttpRequestFactory built = apps.get(factory).getBean(RestTemplateBuilder.class).buildRequestFactory();
		// Hangup's wrapper, around the factory Boot picked.
		assertThat(built.getClass().getSimpleName()).isEqualTo("WatchedRequestFactory");
		Field delegate = built.getClass().getDeclaredField("delegate");
		delegate.setAccessible(true);
		assertThat(delegate.get(built)).isExactlyInstanceOf(FACTORIES.get(factory));
	}

	@ParameterizedTest
	@MethodSource("factoriesAndClients")
	void healthyCallIsRelayedAndRecordsNothing(String factory, String client) throws Exception {
		ConfigurableApplicationContext app = apps.get(factory);
		try (RawHttpClient raw = new RawHttpClient(TestApps.port(app), READ_TIMEOUT)) {
			Head head = raw.send("GET", "/call/" + client + "?path=/ok", "Connection: close").readHead();
			assertThat(head.status()).isEqualTo(200);
			assertThat(raw.readRest().text()).isEqualTo("hello");
		}
		assertMeters(app, Map.of(), Map.of(), Map.of("hangup=NONE,outcome=SUCCESS,status=200,uri=/call/{client}", 1L),
				Map.of("hangup=NONE,method=GET", 1L));
	}

	@ParameterizedTest
	@MethodSource("factoriesAndClients")
	void upstreamClosingWithoutAnAnswerIsAnswered502AndCountedOnce(String factory, String client) throws Exception {
		assertAnswered(factory, client, "/close", 502, "UPSTREAM_RESET", "BEFORE_RESPONSE",
				UpstreamResetException.class);
	}

	@ParameterizedTest
	@MethodSource("factoriesAndClients")
	void upstreamResetIsAnswered502AndCountedOnce(String factory, String client) throws Exception {
		assertAnswered(factory, client, "/reset", 502, "UPSTREAM_RESET", "BEFORE_RESPONSE",
				UpstreamResetException.class);
	}

	@ParameterizedTest
	@MethodSource("factoriesAndClients")
	void upstreamStallingBeforeTheHeadIsAnswered504AfterTheResponseTimeoutAndItsConnectionClosed(String factory,
			String client) throws Exception {
		int closedBefore = upstream.peerClosed("/hang");
		long started = System.nanoTime();
		assertAnswered(factory, client, "/hang", 504, "UPSTREAM_TIMEOUT", "BEFORE_RESPONSE",
				UpstreamTimeoutException.class);
		assertThat(Duration.ofNanos(System.nanoTime() - started)).isGreaterThanOrEqualTo(RESPONSE_TIMEOUT)
			.isLessThan(RESPONSE_TIMEOUT.multipliedBy(4));
		upstream.awaitPeerClosed("/hang", closedBefore + 1);
	}

	@ParameterizedTest
	@MethodSource("factoriesAndClients")
	void upstreamStallingMidBodyIsAnswered504AfterTheResponseTimeoutAndItsConnectionClosed(String factory,
			String client) throws Exception {
		int closedBefore = upstream.peerClosed("/stall-mid-body");
		assertAnswered(factory, client, "/stall-mid-body", 504, "UPSTREAM_TIMEOUT", "DURING_RESPONSE",
				UpstreamTimeoutException.class);
		upstream.awaitPeerClosed("/stall-mid-body", closedBefore + 1);
	}

	@ParameterizedTest
	@MethodSource("factoriesAndClients")
	void refusedConnectionIsAnswered502AndCountedOnce(String factory, String client) throws Exception {
		ConfigurableApplicationContext app = apps.get(factory);
		Answer answer = Answer.get(app, "/refused/" + client + "?path=/ok", READ_TIMEOUT);
		answer.assertProblem(502, "UPSTREAM_UNREACHABLE");
		assertCounted(app, "/refused/{client}", 502, "UPSTREAM_UNREACHABLE", "BEFORE_RESPONSE",
				"127.0.0.1:" + refusedPort);
		assertCalledGot(app, "BEFORE_RESPONSE", UpstreamUnreachableException.class);
	}

	@ParameterizedTest
	@MethodSource("factoriesAndClients")
	void replyThatIsNotHttpIsAnswered502AsAProtocolErrorAndCountedOnce(String factory, String client) throws Exception {
		if (factory.equals("http-components")) {
			// Apache's parser skips lines it cannot read: to it, the upstream closed
			// without a reply.
			assertAnswered(factory, client, "/malformed/not-http", 502, "UPSTREAM_RESET", "BEFORE_RESPONSE",
					UpstreamResetException.class);
			return;
		}
		assertAnswered(factory, client, "/malformed/not-http", 502, "UPSTREAM_PROTOCOL_ERROR", "BEFORE_RESPONSE",
				UpstreamProtocolErrorException.class);
	}

	@ParameterizedTest
	@MethodSource("factoriesAndClients")
	void clientLeavingBeforeTheUpstreamAnsweredAbortsTheCallAndReleasesTheWaitingThread(String factory, String client)
			throws Exception {
		ConfigurableApplicationContext app = apps.get(factory);
		MatrixController controller = app.getBean(MatrixController.class);
		int receivedBefore = upstream.received("/gate");
		int closedBefore = upstream.peerClosed("/gate");
		try (RawHttpClient raw = new RawHttpClient(TestApps.port(app), READ_TIMEOUT)) {
			Head head = raw.send("GET", "/leaving/" + client + "?path=/gate").readHead();
			assertThat(head.status()).isEqualTo(200);
			upstream.awaitReceived("/gate", receivedBefore + 1);
			raw.reset();
		}
		assertGateCallAbortedForItsClient(app, "/leaving/{client}", "DURING_RESPONSE", closedBefore);
		assertThat(controller.interruptedAfterTheCall).isEmpty();
	}

	/**
	 * The call to {@code /gate} was aborted because its client left, long before the
	 * response timeout: the upstream saw its connection closed and never answered, the
	 * waiting thread got the client's leaving, and each meter counted it once.
	 */
	private static void assertGateCallAbortedForItsClient(ConfigurableApplicationContext app, String route,
			String serverPhase, int closedBefore) throws InterruptedException {
		await().atMost(RESPONSE_TIMEOUT.dividedBy(2))
			.pollInterval(Duration.ofMillis(1))
			.until(() -> upstream.peerClosed("/gate") > closedBefore);
		Throwable outcome = app.getBean(MatrixController.class).outcomes.poll(RESPONSE_TIMEOUT.toMillis() / 2,
				TimeUnit.MILLISECONDS);
		assertThat(outcome).as("what the waiting thread got")
			.isInstanceOf(HangupResourceAccessException.class)
			.hasCauseInstanceOf(ClientCancelException.class);
		assertMeters(app, Map.of("kind=CLIENT_CANCEL,method=GET,phase=" + serverPhase + ",uri=" + route, 1L),
				Map.of("kind=CLIENT_CANCEL,method=GET,phase=BEFORE_RESPONSE,upstream=127.0.0.1:" + upstream.port(), 1L),
				Map.of("hangup=CLIENT_CANCEL,uri=" + route, 1L), Map.of("hangup=CLIENT_CANCEL,method=GET", 1L));
		assertThat(upstream.peerClosed("/gate")).isEqualTo(closedBefore + 1);
		assertThat(upstream.answered("/gate")).isZero();
	}

	/**
	 * A synchronous handler waiting on its upstream writes nothing, so Tomcat would not
	 * find its client gone before the upstream answered: Hangup watches the connection
	 * while the request waits on its call, and a client that closes or resets it stops
	 * the call well before its response timeout.
	 */
	@ParameterizedTest
	@MethodSource("factoriesAndClients")
	void clientLeavingASynchronousRequestThatWritesNothingAbortsItsCall(String factory, String client)
			throws Exception {
		for (boolean reset : new boolean[] { false, true }) {
			clear();
			ConfigurableApplicationContext app = apps.get(factory);
			int receivedBefore = upstream.received("/gate");
			int closedBefore = upstream.peerClosed("/gate");
			try (RawHttpClient raw = new RawHttpClient(TestApps.port(app), READ_TIMEOUT)) {
				raw.send("GET", "/call/" + client + "?path=/gate");
				upstream.awaitReceived("/gate", receivedBefore + 1);
				if (reset) {
					raw.reset();
				}
			}
			assertGateCallAbortedForItsClient(app, "/call/{client}", "BEFORE_RESPONSE", closedBefore);
		}
	}

	// Not on Reactor Netty: its factory's body cannot be aborted from another thread, and
	// its close drains the body to its end (see the README).
	static Stream<Arguments> abortableBodies() {
		return factoriesAndClients().filter((arguments) -> !arguments.get()[0].equals("reactor"));
	}

	@ParameterizedTest
	@MethodSource("abortableBodies")
	void clientLeavingMidBodyAbortsTheRelayedCallWithoutDrainingItsBody(String factory, String client)
			throws Exception {
		ConfigurableApplicationContext app = apps.get(factory);
		int closedBefore = upstream.peerClosed("/trickle");
		int answeredBefore = upstream.answered("/trickle");
		try (RawHttpClient raw = new RawHttpClient(TestApps.port(app), READ_TIMEOUT)) {
			Head head = raw.send("GET", "/relay/" + client + "?path=/trickle").readHead();
			assertThat(head.status()).isEqualTo(200);
			raw.readBytes(1);
			raw.reset();
		}
		// Before the upstream's body ended: the call was aborted, not drained to its end.
		upstream.awaitPeerClosed("/trickle", closedBefore + 1);
		assertMeters(app, Map.of("kind=CLIENT_CANCEL,method=GET,phase=DURING_RESPONSE,uri=/relay/{client}", 1L),
				Map.of("kind=CLIENT_CANCEL,method=GET,phase=DURING_RESPONSE,upstream=127.0.0.1:" + upstream.port(), 1L),
				Map.of("hangup=CLIENT_CANCEL,uri=/relay/{client}", 1L), Map.of("hangup=CLIENT_CANCEL,method=GET", 1L));
		assertThat(upstream.answered("/trickle")).as("bodies the upstream finished").isEqualTo(answeredBefore);
	}

	/**
	 * A client leaving mid-upload, which the request streams to the upstream: the body
	 * streams (the upstream has the request before the upload ended), and the client's
	 * leaving stops the call, counted as its leaving on each side.
	 */
	// Not on Apache HttpClient 5: it sends nothing of a streamed request while the 20 KiB
	// the client sent here are all there is, with or without Hangup, so the upstream
	// cannot tell that the call started.
	static Stream<Arguments> streamingUploads() {
		return factoriesAndClients().filter((arguments) -> !arguments.get()[0].equals("http-components"));
	}

	@ParameterizedTest
	@MethodSource("streamingUploads")
	void clientLeavingMidUploadStopsTheStreamedCallAndIsCountedAsItsLeaving(String factory, String client)
			throws Exception {
		ConfigurableApplicationContext app = apps.get(factory);
		int receivedBefore = upstream.received("/hang");
		int closedBefore = upstream.peerClosed("/hang");
		try (RawHttpClient raw = new RawHttpClient(TestApps.port(app), READ_TIMEOUT)) {
			raw.send("POST", "/upload/" + client, "Content-Type: application/octet-stream",
					"Content-Length: " + (1024 * 1024));
			raw.write(new byte[20 * 1024]);
			upstream.awaitReceived("/hang", receivedBefore + 1);
			raw.reset();
		}
		upstream.awaitPeerClosed("/hang", closedBefore + 1);
		assertMeters(app, Map.of("kind=CLIENT_CANCEL,method=POST,phase=BEFORE_RESPONSE,uri=/upload/{client}", 1L),
				Map.of("kind=CLIENT_CANCEL,method=POST,phase=BEFORE_RESPONSE,upstream=127.0.0.1:" + upstream.port(),
						1L),
				Map.of("hangup=CLIENT_CANCEL,uri=/upload/{client}", 1L),
				Map.of("hangup=CLIENT_CANCEL,method=POST", 1L));
	}

	private static void assertAnswered(String factory, String client, String path, int status, String kind,
			String clientPhase, Class<? extends HangupException> type) throws Exception {
		ConfigurableApplicationContext app = apps.get(factory);
		Answer answer = Answer.get(app, "/call/" + client + "?path=" + path, READ_TIMEOUT);
		answer.assertProblem(status, kind);
		assertCounted(app, "/call/{client}", status, kind, clientPhase, "127.0.0.1:" + upstream.port());
		assertCalledGot(app, clientPhase, type);
	}

	/**
	 * The request's one hang-up counted once on each of Hangup's meters, and its kind on
	 * Boot's server and client timers.
	 */
	private static void assertCounted(ConfigurableApplicationContext app, String route, int status, String kind,
			String clientPhase, String upstreamTag) {
		assertMeters(app, Map.of("kind=" + kind + ",method=GET,phase=BEFORE_RESPONSE,uri=" + route, 1L),
				Map.of("kind=" + kind + ",method=GET,phase=" + clientPhase + ",upstream=" + upstreamTag, 1L),
				Map.of("hangup=" + kind + ",outcome=SERVER_ERROR,status=" + status + ",uri=" + route, 1L),
				Map.of("hangup=" + kind + ",method=GET", 1L));
	}

	/**
	 * Wait until the four meters hold exactly the expected counts, then check that they
	 * stay so: Hangup's server and client meters with the tags they are told apart by,
	 * Boot's server timer by hangup key, outcome or not, status and route, Boot's client
	 * timer by hangup key and method.
	 */
	private static void assertMeters(ConfigurableApplicationContext app, Map<String, Long> serverHangups,
			Map<String, Long> clientHangups, Map<String, Long> serverRequests, Map<String, Long> clientRequests) {
		String[] serverRequestTags = serverRequests.keySet().stream().anyMatch((key) -> key.contains("outcome="))
				? new String[] { HangupObservations.KEY, "outcome", "status", "uri" }
				: new String[] { HangupObservations.KEY, "uri" };
		HangupMeters.awaitAll(app.getBean(MeterRegistry.class), serverHangups, clientHangups, serverRequests,
				serverRequestTags, clientRequests);
	}

	/**
	 * The calling code got the typed hang-up: as the cause of a
	 * {@link HangupResourceAccessException} before the response, in the cause chain of
	 * the client's exception for a failed body.
	 */
	private static void assertCalledGot(ConfigurableApplicationContext app, String clientPhase,
			Class<? extends HangupException> type) throws InterruptedException {
		Throwable outcome = app.getBean(MatrixController.class).outcomes.poll(10, TimeUnit.SECONDS);
		if (clientPhase.equals("BEFORE_RESPONSE")) {
			assertThat(outcome).isInstanceOf(HangupResourceAccessException.class).hasCauseExactlyInstanceOf(type);
		}
		else {
			assertThat(outcome).isInstanceOf(RestClientException.class).hasRootCauseInstanceOf(Throwable.class);
			assertThat(hangupIn(outcome)).isExactlyInstanceOf(type);
		}
	}

	private static Throwable hangupIn(Throwable error) {
		for (Throwable t = error; t != null; t = t.getCause()) {
			if (t instanceof HangupException) {
				return t;
			}
		}
		return error;
	}

	/**
	 * Calls the upstream with the {@code RestClient} and the {@code RestTemplate} Boot
	 * builds, and hands what the calling code got to the test.
	 */
	@RestController
	static class MatrixController {

		final BlockingQueue<Throwable> outcomes = new LinkedBlockingQueue<>();

		/**
		 * Threads still interrupted once the call returned: an interrupt must not outlive
		 * its call.
		 */
		final BlockingQueue<String> interruptedAfterTheCall = new LinkedBlockingQueue<>();

		private final Map<String, RestClient> restClients;

		private final Map<String, RestTemplate> restTemplates;

		private final ThreadPoolTaskExecutor executor;

		MatrixController(RestClient.Builder restClients, RestTemplateBuilder restTemplates, Environment environment) {
			String upstream = environment.getRequiredProperty("test.upstream");
			String refused = environment.getRequiredProperty("test.refused");
			this.restClients = Map.of("call", restClients.clone().baseUrl(upstream).build(), "refused",
					restClients.clone().baseUrl(refused).build());
			this.restTemplates = Map.of("call", restTemplates.rootUri(upstream).build(), "refused",
					restTemplates.rootUri(refused).build());
			// The application's own executor, which carries the request's context to its
			// tasks.
			this.executor = new ThreadPoolTaskExecutor();
			this.executor.setTaskDecorator(new ContextPropagatingTaskDecorator());
			this.executor.setThreadNamePrefix("matrix-");
			this.executor.initialize();
		}

		@GetMapping("/call/{client}")
		String call(@PathVariable String client, @RequestParam String path) {
			return call("call", client, path);
		}

		@GetMapping("/refused/{client}")
		String refused(@PathVariable String client, @RequestParam String path) {
			return call("refused", client, path);
		}

		/**
		 * Keeps its client company while the call runs on the application's executor: a
		 * byte every 20 ms, so that the container finds the client gone at the first
		 * write after it left.
		 */
		@GetMapping("/leaving/{client}")
		void leaving(@PathVariable String client, @RequestParam String path, HttpServletResponse response)
				throws IOException, InterruptedException, ExecutionException {
			response.setContentType("text/plain");
			OutputStream out = response.getOutputStream();
			Future<?> call = this.executor.submit(() -> call("call", client, path));
			while (true) {
				out.write(' ');
				out.flush();
				try {
					call.get(20, TimeUnit.MILLISECONDS);
					return;
				}
				catch (TimeoutException ex) {
					// Still waiting: keep the client company.
				}
				catch (ExecutionException ex) {
					// Recorded by the call itself.
					return;
				}
			}
		}

		/** Streams the upload to the upstream as it arrives. */
		@PostMapping("/upload/{client}")
		@Nullable String upload(@PathVariable String client, HttpServletRequest request) {
			StreamingHttpOutputMessage.Body body = (out) -> request.getInputStream().transferTo(out);
			if (client.equals("rest-template")) {
				return this.restTemplates.get("call")
					.execute("/hang", HttpMethod.POST,
							(upstreamRequest) -> ((StreamingHttpOutputMessage) upstreamRequest).setBody(body),
							(upstreamResponse) -> "answered");
			}
			return this.restClients.get("call").post().uri("/hang").body(body).retrieve().body(String.class);
		}

		/** Relays the upstream's body as it comes. */
		@GetMapping("/relay/{client}")
		void relay(@PathVariable String client, @RequestParam String path, HttpServletResponse response) {
			response.setContentType("text/plain");
			if (client.equals("rest-template")) {
				this.restTemplates.get("call").execute(path, HttpMethod.GET, null, (upstreamResponse) -> {
					MvcClientLeavingTests.LeavingController.relay(upstreamResponse.getBody(),
							response.getOutputStream());
					return null;
				});
				return;
			}
			this.restClients.get("call").get().uri(path).exchange((request, upstreamResponse) -> {
				MvcClientLeavingTests.LeavingController.relay(upstreamResponse.getBody(), response.getOutputStream());
				return null;
			});
		}

		private String call(String upstream, String client, String path) {
			try {
				String body = client.equals("rest-template")
						? this.restTemplates.get(upstream).getForObject(path, String.class)
						: this.restClients.get(upstream).get().uri(path).retrieve().body(String.class);
				return (body != null) ? body : "";
			}
			catch (RuntimeException ex) {
				if (Thread.currentThread().isInterrupted()) {
					this.interruptedAfterTheCall.add(Thread.currentThread().getName());
				}
				this.outcomes.add(ex);
				throw ex;
			}
		}

	}

}
