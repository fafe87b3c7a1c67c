package io.github.hangup.harm;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiFunction;

import io.github.hangup.metrics.HangupMetrics;
import io.github.hangup.support.HangupMeters;
import io.github.hangup.support.RawAnswer;
import io.github.hangup.support.RawHttpClient;
import io.github.hangup.support.Settled;
import io.github.hangup.support.TestApps;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelOption;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import org.assertj.core.api.SoftAssertions;
import org.awaitility.core.ConditionTimeoutException;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.SignalType;
import reactor.core.publisher.Sinks;
import reactor.netty.DisposableServer;
import reactor.netty.http.server.HttpServer;
import reactor.netty.http.server.HttpServerRequest;
import reactor.netty.http.server.HttpServerResponse;
import reactor.netty.resources.LoopResources;

import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.core.ParameterizedTypeReference;
import org.springframework.core.env.Environment;
import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.http.MediaType;
import org.springframework.http.codec.ServerSentEvent;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.reactive.function.client.WebClient;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Do no harm: behaviours that work without Hangup work the same with it. One small
 * WebFlux application runs twice on real sockets, once with Hangup and once with
 * {@code hangup.enabled=false}, each in front of its own Reactor Netty upstream, and
 * every scenario runs against both at the same time: the application without Hangup is
 * the reference, and the one with it must answer the same statuses and the same body
 * bytes. Healthy requests leave no hang-up on the meters ({@code http.server.hangups},
 * {@code http.client.hangups}) and are recorded by Boot's {@code http.server.requests}
 * with their status and outcome {@code SUCCESS} ({@code hangup=NONE} with Hangup),
 * checked once the work in flight has settled and again after a later, unrelated request.
 * <p>
 * Three pairs of applications, each started once, because the timeout one scenario needs
 * would end another's calls: Hangup's one-second response timeout would end the slow
 * shared call of the everyday scenarios (with Hangup only, which would compare nothing),
 * and Boot's one-second read timeout, which Reactor Netty applies between any two reads
 * of a response, would end the quiet event stream in both applications. So: an everyday
 * pair (no timeout below the upstreams' pace, pooled connections idle for at most
 * {@value #MAX_IDLE_MILLIS} ms), a pair with Hangup's response timeout and a pair with
 * Boot's read timeout. Both applications of a pair share the JVM, and so Reactor Netty's
 * global pool and event loops, but each has its own upstream (its own pool key), context
 * and meter registry.
 */
class DoNoHarmTests {

	private static final long MAX_IDLE_MILLIS = 300;

	private static final Duration RESPONSE_TIMEOUT = Duration.ofSeconds(1);

	private static final String TEXT = "text/plain;charset=UTF-8";

	private static final ExecutorService threads = Executors.newCachedThreadPool((task) -> {
		Thread thread = new Thread(task, "do-no-harm");
		thread.setDaemon(true);
		return thread;
	});

	/** No timeout below the upstreams' pace; short-lived idle pooled connections. */
	private static AppPair everyday;

	/** Hangup's response timeout shorter than the gaps of an event stream. */
	private static AppPair quietStream;

	/** Boot's read timeout shorter than a reader's pause. */
	private static AppPair bootReadTimeout;

	@BeforeAll
	static void start() throws Exception {
		everyday = AppPair.start("hangup.client.max-idle-time=" + MAX_IDLE_MILLIS + "ms");
		quietStream = AppPair.start("hangup.client.response-timeout=" + RESPONSE_TIMEOUT.toMillis() + "ms");
		bootReadTimeout = AppPair.start("spring.http.clients.read-timeout=" + RESPONSE_TIMEOUT.toMillis() + "ms");
	}

	@AfterAll
	static void stop() {
		for (AppPair pair : new AppPair[] { everyday, quietStream, bootReadTimeout }) {
			if (pair != null) {
				pair.close();
			}
		}
		threads.shutdownNow();
	}

	@BeforeEach
	void clearMeters() {
		for (AppPair pair : new AppPair[] { everyday, quietStream, bootReadTimeout }) {
			pair.with().registry().clear();
			pair.without().registry().clear();
		}
	}

	/**
	 * A first request subscribes a cached call, two more wait on the same cache entry;
	 * the first client leaves while the upstream is still silent, then the upstream
	 * answers. The scenario is paced by conditions, not by the clock: the first client
	 * leaves once the others wait, and the upstream answers once the application saw it
	 * leave.
	 */
	@Test
	void sharedCachedCallAnswersTheRequestsStillWaitingWhenItsFirstClientLeaves() {
		Both<Outcome> outcomes = everyday.run(DoNoHarmTests::sharedCallWhoseFirstClientLeaves);
		String body = Upstream.valueOf("shared");
		Outcome expected = new Outcome(List.of(Answer.ok(body), Answer.ok(body), Answer.ok(body)), 1);
		SoftAssertions softly = new SoftAssertions();
		softly.check(() -> assertSame(outcomes, expected));
		softly.check(() -> assertMeters(everyday, List.of(Served.ok("/shared/{key}", 3), Served.left("/shared/{key}")),
				Map.of("kind=CLIENT_CANCEL,phase=BEFORE_RESPONSE,uri=/shared/{key}", 1L), Map.of()));
		softly.assertAll();
	}

	@Test
	void monoKeptInAFieldByOneRequestAnswersTheLaterRequestsThatSubscribeIt() {
		Both<Outcome> outcomes = everyday.run((app) -> {
			List<Answer> answers = new ArrayList<>();
			answers.add(Answer.of(RawAnswer.get(app.port(), "/kept/prepare")));
			answers.add(Answer.of(RawAnswer.get(app.port(), "/kept/use")));
			answers.add(Answer.of(RawAnswer.get(app.port(), "/kept/use")));
			return new Outcome(answers, app.upstream().received("/value/kept"));
		});
		String body = Upstream.valueOf("kept");
		Outcome expected = new Outcome(List.of(Answer.ok("prepared"), Answer.ok(body), Answer.ok(body)), 1);
		SoftAssertions softly = new SoftAssertions();
		softly.check(() -> assertSame(outcomes, expected));
		softly.check(() -> assertMeters(everyday, List.of(Served.ok("/kept/prepare", 1), Served.ok("/kept/use", 2)),
				Map.of(), Map.of()));
		softly.assertAll();
	}

	@Test
	void takingTheFirstLineOfAStreamingUpstreamAnswersThatLine() {
		Both<Answer> answers = everyday.run((app) -> {
			int abandoned = app.upstream().abandoned("/lines");
			Answer answer = Answer.of(RawAnswer.get(app.port(), "/first-line"));
			// Settled: the rest of the stream is no longer wanted, and its call is gone.
			app.upstream().awaitAbandoned("/lines", abandoned + 1);
			return answer;
		});
		SoftAssertions softly = new SoftAssertions();
		softly.check(() -> assertSame(answers, Answer.ok("line-0")));
		softly.check(() -> assertMeters(everyday, List.of(Served.ok("/first-line", 1)), Map.of(), Map.of()));
		softly.assertAll();
	}

	/**
	 * The application handles the upstream's failure itself. An upstream that resets the
	 * connection did hang up, and Hangup counts that call once on
	 * {@code http.client.hangups} (that is what the meter is for); the inbound request,
	 * answered by the fallback, is healthy and shows no hang-up.
	 */
	@ParameterizedTest(name = "upstream {0}")
	@ValueSource(strings = { "fail", "reset" })
	void fallbackWithOnErrorResumeIsAnsweredWhenTheUpstreamFails(String failure) {
		Both<Answer> answers = everyday.run((app) -> Answer.of(RawAnswer.get(app.port(), "/fallback/" + failure)));
		Map<String, Long> clientHangups = failure.equals("reset")
				? Map.of("kind=UPSTREAM_RESET,phase=BEFORE_RESPONSE", 1L) : Map.of();
		SoftAssertions softly = new SoftAssertions();
		softly.check(() -> assertSame(answers, Answer.ok("fallback")));
		softly
			.check(() -> assertMeters(everyday, List.of(Served.ok("/fallback/{failure}", 1)), Map.of(), clientHangups));
		softly.assertAll();
	}

	@Test
	void applicationsOwnTimeoutWithAFallbackAnswersTheFallbackOnASlowUpstream() {
		Both<Answer> answers = everyday.run((app) -> {
			int abandoned = app.upstream().abandoned("/gated/never");
			Answer answer = Answer.of(RawAnswer.get(app.port(), "/own-timeout"));
			// Settled: the timed-out call is gone from the upstream.
			app.upstream().awaitAbandoned("/gated/never", abandoned + 1);
			return answer;
		});
		SoftAssertions softly = new SoftAssertions();
		softly.check(() -> assertSame(answers, Answer.ok("fallback")));
		softly.check(() -> assertMeters(everyday, List.of(Served.ok("/own-timeout", 1)), Map.of(), Map.of()));
		softly.assertAll();
	}

	/**
	 * An event stream is quiet between events for longer than Hangup's response timeout:
	 * {@value Upstream#EVENTS} events, {@value Upstream#EVENT_GAP_MILLIS} ms apart, then
	 * the end.
	 */
	@Test
	void relayedEventStreamQuieterThanTheResponseTimeoutDeliversEveryEvent() {
		Both<Answer> answers = quietStream
			.run((app) -> Answer.of(RawAnswer.get(app.port(), "/events", "Accept: text/event-stream")));
		StringBuilder events = new StringBuilder();
		for (int event = 1; event <= Upstream.EVENTS; event++) {
			events.append("id:").append(event).append("\nevent:tick\ndata:event-").append(event).append("\n\n");
		}
		SoftAssertions softly = new SoftAssertions();
		softly.check(() -> assertSame(answers, Answer.ok(events.toString())));
		softly.check(() -> assertMeters(quietStream, List.of(Served.ok("/events", 1)), Map.of(), Map.of()));
		softly.assertAll();
	}

	/**
	 * A client reads the start of a large download, stops reading for longer than Boot's
	 * read timeout, then reads the rest. Its pause holds the upstream back through
	 * backpressure: the upstream is not silent, nobody is reading it. (Boot gives its
	 * read timeout to Reactor Netty as the response timeout, which Reactor Netty 1.3 also
	 * applies while a reader holds the response back: there, the application without
	 * Hangup cuts the download, so this case asks more of Hangup than of the reference:
	 * the whole body.)
	 */
	@Test
	void pausedReaderLongerThanBootsReadTimeoutGetsEveryByteOfALargeRelayedBody() {
		Both<Answer> answers = bootReadTimeout.run(DoNoHarmTests::pausedDownload);
		SoftAssertions softly = new SoftAssertions();
		// Boot alone cuts this download (see above): with Hangup, whose timeout takes the
		// place of Boot's, the reader gets every byte the upstream sent.
		softly.assertThat(answers.with())
			.as("with Hangup, the upstream's whole body")
			.isEqualTo(Answer.ofBody(200, Upstream.bigBody()));
		softly.check(() -> assertMeters(bootReadTimeout, List.of(Served.ok("/download", 1)), Map.of(), Map.of()));
		softly.assertAll();
	}

	/**
	 * A {@code WebClient.create()} client and one built from the auto-configured builder
	 * take their connections to one upstream from the same provider, Reactor Netty's
	 * global pool (each from its own part of it: Reactor Netty keys pooled connections by
	 * the client's configuration too), while connections sit idle longer than
	 * {@code hangup.client.max-idle-time} and are closed. Each client's calls come right
	 * after the other's, some slower than the idle limit, and the rounds are separated by
	 * pauses just over it.
	 */
	@Test
	void plainWebClientSharingThePoolWithTheBuildersClientsAnswersEveryCallWhileIdleConnectionsAreClosed() {
		long[] pauses = { MAX_IDLE_MILLIS + 10, MAX_IDLE_MILLIS + 50, MAX_IDLE_MILLIS + 100, MAX_IDLE_MILLIS * 2 };
		String[] calls = { "/pool/builder/fast", "/pool/plain/slow", "/pool/plain/fast", "/pool/builder/slow" };
		Both<List<Answer>> answers = everyday.run((app) -> {
			List<Answer> received = new ArrayList<>();
			for (long pause : pauses) {
				for (String call : calls) {
					received.add(Answer.of(RawAnswer.get(app.port(), call)));
				}
				app.upstream().awaitQuietFor(Duration.ofMillis(pause));
			}
			return received;
		});
		List<Answer> expected = new ArrayList<>();
		for (int round = 0; round < pauses.length; round++) {
			for (String call : calls) {
				expected.add(Answer.ok(Upstream.valueOf(call.endsWith("slow") ? "slow" : "fast")));
			}
		}
		SoftAssertions softly = new SoftAssertions();
		softly.check(() -> assertSame(answers, expected));
		softly.check(() -> assertMeters(everyday, List.of(Served.ok("/pool/{client}/{speed}", expected.size())),
				Map.of(), Map.of()));
		softly.assertAll();
	}

	private static Outcome sharedCallWhoseFirstClientLeaves(App app) throws Exception {
		HarmController controller = app.controller();
		String key = "shared";
		CompletableFuture<RawAnswer> second;
		CompletableFuture<RawAnswer> third;
		try (RawHttpClient first = new RawHttpClient(app.port(), Duration.ofSeconds(10))) {
			first.send("GET", "/shared/" + key, "Connection: close");
			app.upstream().awaitReceived("/gated/" + key, 1);
			second = CompletableFuture.supplyAsync(() -> RawAnswer.get(app.port(), "/shared/" + key), threads);
			third = CompletableFuture.supplyAsync(() -> RawAnswer.get(app.port(), "/shared/" + key), threads);
			await().atMost(Duration.ofSeconds(10)).until(() -> controller.subscribers(key) == 3);
		}
		// The first client left; once the application saw it go, the upstream answers.
		await().atMost(Duration.ofSeconds(10)).until(() -> controller.cancels(key) == 1);
		app.upstream().openGate(key);
		List<Answer> answers = new ArrayList<>();
		answers.add(Answer.of(second.get(20, TimeUnit.SECONDS)));
		answers.add(Answer.of(third.get(20, TimeUnit.SECONDS)));
		answers.add(Answer.of(RawAnswer.get(app.port(), "/shared/" + key)));
		return new Outcome(answers, app.upstream().received("/gated/" + key));
	}

	private static Answer pausedDownload(App app) throws IOException {
		try (RawHttpClient client = new RawHttpClient(app.port(), Duration.ofSeconds(20))) {
			client.send("GET", "/download", "Connection: close");
			RawHttpClient.Head head;
			try {
				head = client.readHead();
			}
			catch (IOException ex) {
				return Answer.of(new RawAnswer(0, new byte[0], false, RawHttpClient.Ending.RESET));
			}
			byte[] start = client.readBytes(64 * 1024);
			app.upstream().awaitBigHeldBack(Duration.ofSeconds(3));
			RawHttpClient.Rest rest = client.readRest();
			ByteArrayOutputStream all = new ByteArrayOutputStream(start.length + rest.bytes().length);
			all.write(start);
			all.write(rest.bytes());
			return Answer.of(RawAnswer.of(head, new RawHttpClient.Rest(all.toByteArray(), rest.ending())));
		}
	}

	/**
	 * The application without Hangup must give the expected outcome (else the scenario,
	 * not Hangup, is wrong), and the one with Hangup the same.
	 */
	private static <T> void assertSame(Both<T> outcomes, T expected) {
		SoftAssertions softly = new SoftAssertions();
		softly.assertThat(outcomes.without()).as("without Hangup, the reference").isEqualTo(expected);
		softly.assertThat(outcomes.with())
			.as("with Hangup, compared with the same application without it")
			.isEqualTo(outcomes.without());
		softly.assertAll();
	}

	/**
	 * Check the meters of both applications of a pair once the work in flight settled
	 * (and stayed so for a moment), then again after a later, unrelated request
	 * completed: a count right once and wrong later is a recording too many.
	 * @param served the inbound requests Boot must have recorded
	 * @param serverHangups {@code http.server.hangups} with Hangup, by kind, phase and
	 * uri
	 * @param clientHangups {@code http.client.hangups} with Hangup, by kind and phase
	 */
	private static void assertMeters(AppPair pair, List<Served> served, Map<String, Long> serverHangups,
			Map<String, Long> clientHangups) {
		pair.run((app) -> {
			Map<String, Long> requests = new TreeMap<>();
			for (Served request : served) {
				requests.merge(request.key(app.hangup()), request.count(), Long::sum);
			}
			Meters expected = app.hangup() ? new Meters(requests, serverHangups, clientHangups)
					: new Meters(requests, Map.of(), Map.of());
			try {
				Settled.awaitAndHold(app + ": meters", () -> Meters.of(app), expected);
				long pings = Meters.pings(app);
				assertThat(RawAnswer.get(app.port(), "/ping").status()).isEqualTo(200);
				await().atMost(Duration.ofSeconds(10)).until(() -> Meters.pings(app) == pings + 1);
			}
			catch (ConditionTimeoutException ex) {
				throw new AssertionError(ex.getMessage(), ex);
			}
			assertThat(Meters.of(app)).as("%s: meters after a later request", app).isEqualTo(expected);
			return expected;
		});
	}

	/**
	 * What a client received, comparable across applications: the status, whether the
	 * body was complete, its length, and the body itself as ISO-8859-1 text (one
	 * character a byte), or its SHA-256 when it is large.
	 */
	record Answer(int status, boolean complete, int length, String body) {

		private static final int LARGE = 4096;

		static Answer of(RawAnswer raw) {
			return new Answer(raw.status(), raw.complete(), raw.body().length, describe(raw.body()));
		}

		static Answer ok(String body) {
			return ofBody(200, body.getBytes(StandardCharsets.ISO_8859_1));
		}

		static Answer ofBody(int status, byte[] body) {
			return new Answer(status, true, body.length, describe(body));
		}

		private static String describe(byte[] body) {
			if (body.length <= LARGE) {
				return new String(body, StandardCharsets.ISO_8859_1);
			}
			try {
				return "SHA-256 " + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(body));
			}
			catch (NoSuchAlgorithmException ex) {
				throw new IllegalStateException(ex);
			}
		}

	}

	/** The answers of a scenario and the number of calls the upstream received for it. */
	record Outcome(List<Answer> answers, int upstreamCalls) {

	}

	/** The outcomes of one scenario run against both applications of a pair. */
	record Both<T>(T with, T without) {

	}

	/** A scenario run against one application. */
	@FunctionalInterface
	interface Scenario<T> {

		T run(App app) throws Exception;

	}

	/**
	 * Inbound requests recorded by Boot's {@code http.server.requests}.
	 */
	record Served(String uri, String hangup, String outcome, String status, long count) {

		/** Healthy requests: answered with a 200. */
		static Served ok(String uri, long count) {
			return new Served(uri, "NONE", "SUCCESS", "200", count);
		}

		/** A request whose client left before it was answered. */
		static Served left(String uri) {
			return new Served(uri, "CLIENT_CANCEL", "UNKNOWN", "UNKNOWN", 1);
		}

		String key(boolean hangup) {
			return (hangup ? "hangup=" + this.hangup + "," : "") + "outcome=" + this.outcome + ",status=" + this.status
					+ ",uri=" + this.uri;
		}

	}

	/**
	 * The meters a scenario checks: {@code http.server.requests} (but the {@code /ping}
	 * requests that check them), and Hangup's two hang-up timers.
	 */
	record Meters(Map<String, Long> serverRequests, Map<String, Long> serverHangups, Map<String, Long> clientHangups) {

		static Meters of(App app) {
			MeterRegistry registry = app.registry();
			Map<String, Long> requests = new TreeMap<>(
					HangupMeters.counts(registry, "http.server.requests", "hangup", "outcome", "status", "uri"));
			requests.keySet().removeIf((key) -> key.endsWith("uri=/ping"));
			return new Meters(requests,
					HangupMeters.counts(registry, HangupMetrics.SERVER_HANGUPS, "kind", "phase", "uri"),
					HangupMeters.counts(registry, HangupMetrics.CLIENT_HANGUPS, "kind", "phase"));
		}

		static long pings(App app) {
			return HangupMeters.counts(app.registry(), "http.server.requests", "uri").getOrDefault("uri=/ping", 0L);
		}

	}

	/**
	 * The same application twice, with Hangup and without it, each in front of its own
	 * upstream.
	 */
	record AppPair(App with, App without) {

		static AppPair start(String... properties) throws Exception {
			return new AppPair(App.start(true, properties), App.start(false, properties));
		}

		/** Run a scenario against both applications at the same time. */
		<T> Both<T> run(Scenario<T> scenario) {
			CompletableFuture<T> with = CompletableFuture.supplyAsync(() -> call(scenario, this.with), threads);
			CompletableFuture<T> without = CompletableFuture.supplyAsync(() -> call(scenario, this.without), threads);
			// Both run to their end; when both fail, both are reported, the one with
			// Hangup first.
			Throwable failure = null;
			for (CompletableFuture<T> outcome : List.of(with, without)) {
				Throwable cause = failure(outcome);
				if (cause != null && failure != null) {
					failure.addSuppressed(cause);
				}
				else if (cause != null) {
					failure = cause;
				}
			}
			if (failure instanceof Error error) {
				throw error;
			}
			if (failure instanceof RuntimeException runtime) {
				throw runtime;
			}
			if (failure != null) {
				throw new IllegalStateException(failure);
			}
			return new Both<>(with.join(), without.join());
		}

		void close() {
			this.with.close();
			this.without.close();
		}

		private static <T> T call(Scenario<T> scenario, App app) {
			try {
				return scenario.run(app);
			}
			catch (RuntimeException | Error ex) {
				throw ex;
			}
			catch (Exception ex) {
				throw new IllegalStateException(app + ": " + ex, ex);
			}
		}

		private static @Nullable Throwable failure(CompletableFuture<?> outcome) {
			try {
				outcome.get(60, TimeUnit.SECONDS);
				return null;
			}
			catch (ExecutionException ex) {
				return ex.getCause();
			}
			catch (InterruptedException | TimeoutException ex) {
				return ex;
			}
		}

	}

	/**
	 * One running application and its upstream.
	 */
	record App(boolean hangup, Upstream upstream, ConfigurableApplicationContext context) {

		static App start(boolean hangup, String... properties) {
			Upstream upstream = Upstream.start();
			List<String> all = new ArrayList<>(List.of(properties));
			all.add("test.upstream=" + upstream.baseUrl());
			all.add("spring.main.banner-mode=off");
			if (!hangup) {
				all.add("hangup.enabled=false");
			}
			return new App(hangup, upstream, TestApps.start(HarmController.class, all.toArray(String[]::new)));
		}

		int port() {
			return TestApps.port(this.context);
		}

		MeterRegistry registry() {
			return this.context.getBean(MeterRegistry.class);
		}

		HarmController controller() {
			return this.context.getBean(HarmController.class);
		}

		void close() {
			this.context.close();
			this.upstream.close();
		}

		@Override
		public String toString() {
			return this.hangup ? "with Hangup" : "without Hangup";
		}

	}

	/**
	 * The application: a few everyday uses of WebClient that work without Hangup.
	 */
	@RestController
	static class HarmController {

		private final WebClient webClient;

		private final WebClient plainClient;

		private final Map<String, Mono<String>> shared = new ConcurrentHashMap<>();

		private final Map<String, AtomicInteger> sharedSubscribers = new ConcurrentHashMap<>();

		private final Map<String, AtomicInteger> sharedCancels = new ConcurrentHashMap<>();

		private volatile @Nullable Mono<String> kept;

		HarmController(WebClient.Builder builder, Environment environment) {
			String upstream = environment.getRequiredProperty("test.upstream");
			this.webClient = builder.clone().baseUrl(upstream).build();
			// Not from the builder: Hangup's filter is not on it, but its connections
			// come from the same global pool.
			this.plainClient = WebClient.create(upstream);
		}

		@GetMapping(path = "/ping", produces = TEXT)
		Mono<String> ping() {
			return Mono.just("pong");
		}

		@GetMapping(path = "/shared/{key}", produces = TEXT)
		Mono<String> shared(@PathVariable String key) {
			Mono<String> call = this.shared.computeIfAbsent(key,
					(k) -> this.webClient.get().uri("/gated/{key}", k).retrieve().bodyToMono(String.class).cache());
			return call.doOnSubscribe((subscription) -> count(this.sharedSubscribers, key))
				.doOnCancel(() -> count(this.sharedCancels, key));
		}

		@GetMapping(path = "/kept/prepare", produces = TEXT)
		Mono<String> prepare() {
			this.kept = this.webClient.get().uri("/value/kept").retrieve().bodyToMono(String.class).cache();
			return Mono.just("prepared");
		}

		@GetMapping(path = "/kept/use", produces = TEXT)
		Mono<String> use() {
			Mono<String> kept = this.kept;
			return (kept != null) ? kept : Mono.just("nothing kept");
		}

		@GetMapping(path = "/first-line", produces = TEXT)
		Flux<String> firstLine() {
			return this.webClient.get().uri("/lines").retrieve().bodyToFlux(String.class).take(1);
		}

		@GetMapping(path = "/fallback/{failure}", produces = TEXT)
		Mono<String> fallback(@PathVariable String failure) {
			return this.webClient.get()
				.uri("/{failure}", failure)
				.retrieve()
				.bodyToMono(String.class)
				.onErrorResume((ex) -> Mono.just("fallback"));
		}

		@GetMapping(path = "/own-timeout", produces = TEXT)
		Mono<String> ownTimeout() {
			return this.webClient.get()
				.uri("/gated/never")
				.retrieve()
				.bodyToMono(String.class)
				.timeout(Duration.ofMillis(300), Mono.just("fallback"));
		}

		@GetMapping(path = "/events", produces = MediaType.TEXT_EVENT_STREAM_VALUE)
		Flux<ServerSentEvent<String>> events() {
			return this.webClient.get()
				.uri("/events")
				.retrieve()
				.bodyToFlux(new ParameterizedTypeReference<ServerSentEvent<String>>() {
				});
		}

		@GetMapping(path = "/download", produces = MediaType.APPLICATION_OCTET_STREAM_VALUE)
		Flux<DataBuffer> download() {
			return this.webClient.get().uri("/big").retrieve().bodyToFlux(DataBuffer.class);
		}

		@GetMapping(path = "/pool/{client}/{speed}", produces = TEXT)
		Mono<String> pool(@PathVariable String client, @PathVariable String speed) {
			WebClient webClient = client.equals("plain") ? this.plainClient : this.webClient;
			String uri = speed.equals("slow") ? "/slow/" + (MAX_IDLE_MILLIS + 100) : "/value/fast";
			return webClient.get().uri(uri).retrieve().bodyToMono(String.class);
		}

		int subscribers(String key) {
			AtomicInteger count = this.sharedSubscribers.get(key);
			return (count != null) ? count.get() : 0;
		}

		int cancels(String key) {
			AtomicInteger count = this.sharedCancels.get(key);
			return (count != null) ? count.get() : 0;
		}

		private static void count(Map<String, AtomicInteger> counts, String key) {
			counts.computeIfAbsent(key, (k) -> new AtomicInteger()).incrementAndGet();
		}

	}

	/**
	 * A real upstream, a Reactor Netty {@code HttpServer} on an ephemeral loopback port
	 * with its own event loop:
	 * <ul>
	 * <li>{@code /value/{key}}: 200 with {@link #valueOf(String) a body} at once;</li>
	 * <li>{@code /gated/{key}}: the same once the test {@link #openGate opens its
	 * gate};</li>
	 * <li>{@code /slow/{millis}}: the body of {@code slow} after that many
	 * milliseconds;</li>
	 * <li>{@code /lines}: a long stream of text lines, {@value #LINE_GAP_MILLIS} ms
	 * apart;</li>
	 * <li>{@code /events}: {@value #EVENTS} server-sent events,
	 * {@value #EVENT_GAP_MILLIS} ms apart, then the end;</li>
	 * <li>{@code /big}: {@link #bigBody() a large body} as fast as the connection takes
	 * it;</li>
	 * <li>{@code /fail}: a 500; {@code /reset}: a reset connection instead of an
	 * answer.</li>
	 * </ul>
	 * It counts, per path, the requests received and those whose connection closed before
	 * they were answered in full.
	 */
	static final class Upstream {

		static final int EVENTS = 3;

		static final long EVENT_GAP_MILLIS = 1600;

		static final long LINE_GAP_MILLIS = 20;

		static final int BIG_CHUNK = 16 * 1024;

		static final int BIG_CHUNKS = 24 * 64;

		private final LoopResources loops = LoopResources.create("harm-upstream", 1, true);

		private final Map<String, AtomicInteger> received = new ConcurrentHashMap<>();

		private final Map<String, AtomicInteger> abandoned = new ConcurrentHashMap<>();

		private final Map<String, Sinks.Empty<Void>> gates = new ConcurrentHashMap<>();

		private final AtomicLong bigWritten = new AtomicLong();

		private final AtomicInteger inFlight = new AtomicInteger();

		private final AtomicLong lastActivity = new AtomicLong(System.nanoTime());

		private final DisposableServer server;

		private Upstream() {
			this.server = HttpServer.create()
				.host("127.0.0.1")
				.port(0)
				.runOn(this.loops)
				.route((routes) -> routes.get("/value/{key}", tracked(this::value))
					.get("/gated/{key}", tracked(this::gated))
					.get("/slow/{millis}", tracked(this::slow))
					.get("/lines", tracked(this::lines))
					.get("/events", tracked(this::events))
					.get("/big", tracked(this::big))
					.get("/fail", tracked(this::fail))
					.get("/reset", tracked(this::reset)))
				.bindNow();
		}

		static Upstream start() {
			return new Upstream();
		}

		/** The body answered for a key. */
		static String valueOf(String key) {
			return "value of " + key + ": " + "0123456789abcdef".repeat(4);
		}

		/** The whole body of {@code /big}. */
		static byte[] bigBody() {
			ByteArrayOutputStream body = new ByteArrayOutputStream(BIG_CHUNK * BIG_CHUNKS);
			for (int chunk = 0; chunk < BIG_CHUNKS; chunk++) {
				body.writeBytes(bigChunk(chunk));
			}
			return body.toByteArray();
		}

		private static byte[] bigChunk(int index) {
			byte[] chunk = new byte[BIG_CHUNK];
			for (int i = 0; i < chunk.length; i++) {
				chunk[i] = (byte) ((index * 31 + i) % 251);
			}
			return chunk;
		}

		String baseUrl() {
			return "http://127.0.0.1:" + this.server.port();
		}

		int received(String path) {
			AtomicInteger count = this.received.get(path);
			return (count != null) ? count.get() : 0;
		}

		int abandoned(String path) {
			AtomicInteger count = this.abandoned.get(path);
			return (count != null) ? count.get() : 0;
		}

		void openGate(String key) {
			gate(key).tryEmitEmpty();
		}

		void awaitReceived(String path, int count) {
			await().atMost(Duration.ofSeconds(10)).until(() -> received(path) >= count);
		}

		void awaitAbandoned(String path, int count) {
			await().atMost(Duration.ofSeconds(10)).until(() -> abandoned(path) >= count);
		}

		/**
		 * Wait until no request is in flight and none came or ended for the given time.
		 */
		void awaitQuietFor(Duration quiet) {
			await().atMost(Duration.ofSeconds(10))
				.pollInterval(Duration.ofMillis(5))
				.until(() -> this.inFlight.get() == 0
						&& System.nanoTime() - this.lastActivity.get() >= quiet.toNanos());
		}

		/**
		 * Wait until {@code /big} has been held back (or ended) for the given time:
		 * nothing more was handed to its connection.
		 */
		void awaitBigHeldBack(Duration held) {
			long[] last = { -1 };
			await().atMost(held.plusSeconds(20)).pollInterval(Duration.ofMillis(50)).during(held).until(() -> {
				long now = this.bigWritten.get();
				boolean still = now == last[0];
				last[0] = now;
				return still;
			});
		}

		void close() {
			this.server.disposeNow();
			this.loops.dispose();
		}

		private BiFunction<HttpServerRequest, HttpServerResponse, Publisher<Void>> tracked(
				BiFunction<HttpServerRequest, HttpServerResponse, Publisher<Void>> handler) {
			return (request, response) -> {
				String path = URI.create(request.uri()).getPath();
				this.received.computeIfAbsent(path, (key) -> new AtomicInteger()).incrementAndGet();
				this.inFlight.incrementAndGet();
				this.lastActivity.set(System.nanoTime());
				return Mono.from(handler.apply(request, response)).doFinally((signal) -> {
					this.lastActivity.set(System.nanoTime());
					this.inFlight.decrementAndGet();
				});
			};
		}

		/**
		 * A response body that counts as abandoned when the connection closed before it
		 * was sent in full: Reactor Netty then cancels it (and completes the handler
		 * quietly).
		 */
		private <T> Flux<T> watched(HttpServerRequest request, Publisher<T> body) {
			String path = URI.create(request.uri()).getPath();
			return Flux.from(body).doFinally((signal) -> {
				if (signal == SignalType.CANCEL || signal == SignalType.ON_ERROR) {
					this.abandoned.computeIfAbsent(path, (key) -> new AtomicInteger()).incrementAndGet();
				}
			});
		}

		private Sinks.Empty<Void> gate(String key) {
			return this.gates.computeIfAbsent(key, (k) -> Sinks.empty());
		}

		private Publisher<Void> value(HttpServerRequest request, HttpServerResponse response) {
			return text(request, response, Mono.just(valueOf(request.param("key"))));
		}

		private Publisher<Void> gated(HttpServerRequest request, HttpServerResponse response) {
			String key = request.param("key");
			return text(request, response, gate(key).asMono().then(Mono.fromCallable(() -> valueOf(key))));
		}

		private Publisher<Void> slow(HttpServerRequest request, HttpServerResponse response) {
			long millis = Long.parseLong(request.param("millis"));
			return text(request, response, Mono.delay(Duration.ofMillis(millis)).thenReturn(valueOf("slow")));
		}

		private Publisher<Void> lines(HttpServerRequest request, HttpServerResponse response) {
			return response.header(HttpHeaderNames.CONTENT_TYPE, TEXT)
				.sendString(watched(request,
						Flux.interval(Duration.ZERO, Duration.ofMillis(LINE_GAP_MILLIS))
							.take(10_000)
							.map((line) -> "line-" + line + "\n")));
		}

		private Publisher<Void> events(HttpServerRequest request, HttpServerResponse response) {
			return response.header(HttpHeaderNames.CONTENT_TYPE, MediaType.TEXT_EVENT_STREAM_VALUE)
				.sendString(watched(request,
						Flux.interval(Duration.ZERO, Duration.ofMillis(EVENT_GAP_MILLIS))
							.take(EVENTS)
							.map((index) -> "id:" + (index + 1) + "\nevent:tick\ndata:event-" + (index + 1) + "\n\n")));
		}

		private Publisher<Void> big(HttpServerRequest request, HttpServerResponse response) {
			Flux<ByteBuf> chunks = Flux.range(0, BIG_CHUNKS)
				.map((index) -> Unpooled.wrappedBuffer(bigChunk(index)))
				.doOnNext((chunk) -> this.bigWritten.addAndGet(chunk.readableBytes()));
			return response.header(HttpHeaderNames.CONTENT_TYPE, MediaType.APPLICATION_OCTET_STREAM_VALUE)
				.header(HttpHeaderNames.CONTENT_LENGTH, String.valueOf((long) BIG_CHUNK * BIG_CHUNKS))
				.send(watched(request, chunks));
		}

		private Publisher<Void> fail(HttpServerRequest request, HttpServerResponse response) {
			return response.status(HttpResponseStatus.INTERNAL_SERVER_ERROR)
				.header(HttpHeaderNames.CONTENT_TYPE, TEXT)
				.sendString(Mono.just("upstream failed"));
		}

		private Publisher<Void> reset(HttpServerRequest request, HttpServerResponse response) {
			response.withConnection((connection) -> {
				connection.channel().config().setOption(ChannelOption.SO_LINGER, 0);
				connection.channel().close();
			});
			return Mono.never();
		}

		private Publisher<Void> text(HttpServerRequest request, HttpServerResponse response, Mono<String> body) {
			return response.header(HttpHeaderNames.CONTENT_TYPE, TEXT).sendString(watched(request, body));
		}

	}

}
