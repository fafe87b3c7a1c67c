package io.github.hangup.gateway.mvc;

import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

import io.github.hangup.HangupObservations;
import io.github.hangup.client.OutboundCalls;
import io.github.hangup.support.Answer;
import io.github.hangup.support.FaultyUpstream;
import io.github.hangup.support.HangupMeters;
import io.github.hangup.support.RawHttpClient;
import io.github.hangup.support.RawHttpClient.Head;
import io.github.hangup.support.ServletTestApps;
import io.github.hangup.support.TestApps;
import io.micrometer.core.instrument.MeterRegistry;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import org.springframework.context.ConfigurableApplicationContext;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Spring Cloud Gateway Server MVC on Tomcat, proxying to the fault upstream with the
 * {@code RestClient} it builds from Boot's builder, on the two request factories a
 * Gateway application gets: Apache HttpClient 5 (Boot's choice when it is on the class
 * path) and the JDK {@code HttpClient} (Gateway's own choice when nothing else is). Each
 * fault is answered honestly with the problem body and counted once on both hang-up
 * meters and on Boot's server and client timers; a healthy route is relayed byte for
 * byte, as by the same gateway without Hangup; a client leaving mid-body or mid-upload
 * aborts the proxied call.
 */
@Tag("gateway-mvc")
class GatewayMvcHangupTests {

	private static final Duration RESPONSE_TIMEOUT = Duration.ofSeconds(2);

	private static final Duration READ_TIMEOUT = Duration.ofSeconds(20);

	/**
	 * Boot's client timer of a call whose body failed: Gateway relays the body after the
	 * client's exchange returned, which is when Spring stops the call's observation.
	 */
	private static final Map<String, Long> BEFORE_THE_BODY = Map.of("hangup=NONE,method=GET", 1L);

	private static final String[] FACTORIES = { "jdk", "http-components" };

	private static final Map<String, ConfigurableApplicationContext> apps = new LinkedHashMap<>();

	private static FaultyUpstream upstream;

	private static int refusedPort;

	@BeforeAll
	static void start() throws Exception {
		upstream = new FaultyUpstream();
		refusedPort = FaultyUpstream.refusedPort();
		for (String factory : FACTORIES) {
			apps.put(factory, gateway(factory, true));
		}
		apps.put("disabled", gateway("http-components", false));
	}

	private static ConfigurableApplicationContext gateway(String factory, boolean enabled) {
		String routes = "spring.cloud.gateway.server.webmvc.routes";
		return ServletTestApps.start(Object.class, "hangup.enabled=" + enabled,
				"spring.http.clients.imperative.factory=" + factory,
				"hangup.client.response-timeout=" + RESPONSE_TIMEOUT.toMillis() + "ms", routes + "[0].id=upstream",
				routes + "[0].uri=" + upstream.baseUrl(), routes + "[0].predicates[0]=Path=/up/**",
				routes + "[0].filters[0]=StripPrefix=1", routes + "[1].id=refused",
				routes + "[1].uri=http://127.0.0.1:" + refusedPort, routes + "[1].predicates[0]=Path=/refused/**",
				routes + "[1].filters[0]=StripPrefix=1");
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
		}
	}

	@AfterEach
	void nothingLeftInFlight() {
		for (String factory : FACTORIES) {
			OutboundCalls calls = apps.get(factory).getBean(OutboundCalls.class);
			await().atMost(Duration.ofSeconds(10)).until(() -> calls.inFlight() == 0);
		}
	}

	@ParameterizedTest
	@ValueSource(strings = { "jdk", "http-components" })
	void healthyRouteIsRelayedAsWithoutHangupAndRecordsNothing(String factory) throws Exception {
		assumeRunsOn(factory);
		for (String path : new String[] { "/up/ok", "/up/trickle" }) {
			Answer with = Answer.get(apps.get(factory), path, READ_TIMEOUT);
			Answer without = Answer.get(apps.get("disabled"), path, READ_TIMEOUT);
			assertThat(with.head().status()).isEqualTo(200).isEqualTo(without.head().status());
			assertThat(with.body()).isEqualTo(without.body()).isNotEmpty();
		}
		assertMeters(apps.get(factory), Map.of(), Map.of(), Map.of("hangup=NONE,status=200,uri=/up/**", 2L),
				Map.of("hangup=NONE,method=GET", 2L));
	}

	@ParameterizedTest
	@ValueSource(strings = { "jdk", "http-components" })
	void upstreamClosingWithoutAnAnswerIsAnswered502(String factory) throws Exception {
		assumeRunsOn(factory);
		assertAnswered(factory, "/up/close", 502, "UPSTREAM_RESET", "BEFORE_RESPONSE");
	}

	@ParameterizedTest
	@ValueSource(strings = { "jdk", "http-components" })
	void upstreamResetIsAnswered502(String factory) throws Exception {
		assumeRunsOn(factory);
		assertAnswered(factory, "/up/reset", 502, "UPSTREAM_RESET", "BEFORE_RESPONSE");
	}

	@ParameterizedTest
	@ValueSource(strings = { "jdk", "http-components" })
	void upstreamStallingBeforeTheHeadIsAnswered504AndItsConnectionClosed(String factory) throws Exception {
		assumeRunsOn(factory);
		int closedBefore = upstream.peerClosed("/hang");
		assertAnswered(factory, "/up/hang", 504, "UPSTREAM_TIMEOUT", "BEFORE_RESPONSE");
		upstream.awaitPeerClosed("/hang", closedBefore + 1);
	}

	@ParameterizedTest
	@ValueSource(strings = { "jdk", "http-components" })
	void refusedConnectionIsAnswered502(String factory) throws Exception {
		assumeRunsOn(factory);
		ConfigurableApplicationContext app = apps.get(factory);
		Answer answer = Answer.get(app, "/refused/ok", READ_TIMEOUT);
		answer.assertProblem(502, "UPSTREAM_UNREACHABLE");
		assertCounted(app, "refused", 502, "UPSTREAM_UNREACHABLE", "BEFORE_RESPONSE");
	}

	@ParameterizedTest
	@ValueSource(strings = { "jdk", "http-components" })
	void replyThatIsNotHttpIsAnswered502(String factory) throws Exception {
		assumeRunsOn(factory);
		// Apache's parser skips lines it cannot read: to it, the upstream closed without
		// a reply.
		assertAnswered(factory, "/up/malformed/not-http", 502,
				factory.equals("jdk") ? "UPSTREAM_PROTOCOL_ERROR" : "UPSTREAM_RESET", "BEFORE_RESPONSE");
	}

	/**
	 * Gateway's handler waits on the upstream without writing: the client leaving (here
	 * by closing its side and waiting for an answer, as a client that half-closes does)
	 * aborts the proxied call at once, and gets no answer that could pass for the
	 * upstream's.
	 */
	@ParameterizedTest
	@ValueSource(strings = { "jdk", "http-components" })
	void clientLeavingBeforeTheUpstreamAnsweredAbortsTheProxiedCall(String factory) throws Exception {
		assumeRunsOn(factory);
		ConfigurableApplicationContext app = apps.get(factory);
		int receivedBefore = upstream.received("/gate");
		int closedBefore = upstream.peerClosed("/gate");
		try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), TestApps.port(app))) {
			socket.setSoTimeout((int) READ_TIMEOUT.toMillis());
			socket.getOutputStream()
				.write("GET /up/gate HTTP/1.1\r\nHost: localhost\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
			upstream.awaitReceived("/gate", receivedBefore + 1);
			socket.shutdownOutput();
			// Long before the response timeout: the call was aborted, not timed out.
			await().atMost(RESPONSE_TIMEOUT.dividedBy(2))
				.pollInterval(Duration.ofMillis(1))
				.until(() -> upstream.peerClosed("/gate") > closedBefore);
			assertThat(socket.getInputStream().readAllBytes()).as("what the client got").isEmpty();
		}
		assertMeters(app, Map.of("kind=CLIENT_CANCEL,method=GET,phase=BEFORE_RESPONSE,uri=/up/**", 1L),
				Map.of("kind=CLIENT_CANCEL,method=GET,phase=BEFORE_RESPONSE,upstream=upstream", 1L),
				Map.of("hangup=CLIENT_CANCEL,status=200,uri=/up/**", 1L),
				Map.of("hangup=CLIENT_CANCEL,method=GET", 1L));
		assertThat(upstream.answered("/gate")).isZero();
	}

	@ParameterizedTest
	@ValueSource(strings = { "jdk", "http-components" })
	void upstreamStallingMidBodyIsAnswered504(String factory) throws Exception {
		assumeRunsOn(factory);
		int closedBefore = upstream.peerClosed("/stall-mid-body");
		ConfigurableApplicationContext app = apps.get(factory);
		Answer.get(app, "/up/stall-mid-body", READ_TIMEOUT).assertProblem(504, "UPSTREAM_TIMEOUT");
		assertMeters(app, Map.of("kind=UPSTREAM_TIMEOUT,method=GET,phase=BEFORE_RESPONSE,uri=/up/**", 1L),
				Map.of("kind=UPSTREAM_TIMEOUT,method=GET,phase=DURING_RESPONSE,upstream=upstream", 1L),
				Map.of("hangup=UPSTREAM_TIMEOUT,status=504,uri=/up/**", 1L), BEFORE_THE_BODY);
		upstream.awaitPeerClosed("/stall-mid-body", closedBefore + 1);
	}

	/**
	 * Gateway relays an event stream event by event, and waits on the upstream between
	 * two: a client leaving then aborts the proxied call at once.
	 */
	@ParameterizedTest
	@ValueSource(strings = { "jdk", "http-components" })
	void clientLeavingAnEventStreamBetweenEventsAbortsTheProxiedCall(String factory) throws Exception {
		assumeRunsOn(factory);
		ConfigurableApplicationContext app = apps.get(factory);
		int closedBefore = upstream.peerClosed("/sse");
		try (RawHttpClient raw = new RawHttpClient(TestApps.port(app), READ_TIMEOUT)) {
			Head head = raw.send("GET", "/up/sse").readHead();
			assertThat(head.status()).isEqualTo(200);
			assertThat(head.header("content-type")).startsWith("text/event-stream");
			raw.readBytes(1);
			raw.reset();
		}
		await().atMost(RESPONSE_TIMEOUT.dividedBy(2))
			.pollInterval(Duration.ofMillis(1))
			.until(() -> upstream.peerClosed("/sse") > closedBefore);
		assertMeters(app, Map.of("kind=CLIENT_CANCEL,method=GET,phase=DURING_RESPONSE,uri=/up/**", 1L),
				Map.of("kind=CLIENT_CANCEL,method=GET,phase=DURING_RESPONSE,upstream=upstream", 1L),
				Map.of("hangup=CLIENT_CANCEL,status=200,uri=/up/**", 1L), BEFORE_THE_BODY);
	}

	/**
	 * Gateway streams an upload to the upstream as it arrives (the upstream has the
	 * request while the client still uploads): the client leaving mid-upload stops the
	 * proxied call, counted as its leaving on each side. Not on Apache HttpClient 5,
	 * which sends nothing of a streamed request while the 20 KiB sent here are all there
	 * is, with or without Hangup.
	 */
	@ParameterizedTest
	@ValueSource(strings = { "jdk" })
	void clientLeavingMidUploadStopsTheProxiedCall(String factory) throws Exception {
		assumeRunsOn(factory);
		ConfigurableApplicationContext app = apps.get(factory);
		int receivedBefore = upstream.received("/hang");
		int closedBefore = upstream.peerClosed("/hang");
		try (RawHttpClient raw = new RawHttpClient(TestApps.port(app), READ_TIMEOUT)) {
			raw.send("POST", "/up/hang", "Content-Type: application/octet-stream", "Content-Length: " + (1024 * 1024));
			raw.write(new byte[20 * 1024]);
			upstream.awaitReceived("/hang", receivedBefore + 1);
			raw.reset();
		}
		await().atMost(RESPONSE_TIMEOUT.dividedBy(2))
			.pollInterval(Duration.ofMillis(1))
			.until(() -> upstream.peerClosed("/hang") > closedBefore);
		assertMeters(app, Map.of("kind=CLIENT_CANCEL,method=POST,phase=BEFORE_RESPONSE,uri=/up/**", 1L),
				Map.of("kind=CLIENT_CANCEL,method=POST,phase=BEFORE_RESPONSE,upstream=upstream", 1L),
				Map.of("hangup=CLIENT_CANCEL,status=" + failedUploadStatus() + ",uri=/up/**", 1L),
				Map.of("hangup=CLIENT_CANCEL,method=POST", 1L));
	}

	/**
	 * Skip a test on a request factory this container's tests leave out.
	 * @param factory the request factory of the test
	 */
	void assumeRunsOn(String factory) {
	}

	/**
	 * The status Boot's server timer records for a request whose body failed to arrive:
	 * Tomcat's, as without Hangup.
	 */
	int failedUploadStatus() {
		return 400;
	}

	private static void assertAnswered(String factory, String path, int status, String kind, String clientPhase)
			throws Exception {
		ConfigurableApplicationContext app = apps.get(factory);
		Answer answer = Answer.get(app, path, READ_TIMEOUT);
		answer.assertProblem(status, kind);
		assertCounted(app, "upstream", status, kind, clientPhase);
	}

	/**
	 * The request's one hang-up counted once on each of Hangup's meters, the proxied call
	 * named after its route, and its kind on Boot's server and client timers.
	 */
	private static void assertCounted(ConfigurableApplicationContext app, String route, int status, String kind,
			String clientPhase) {
		String uri = "uri=/" + (route.equals("upstream") ? "up" : route) + "/**";
		assertMeters(app, Map.of("kind=" + kind + ",method=GET,phase=BEFORE_RESPONSE," + uri, 1L),
				Map.of("kind=" + kind + ",method=GET,phase=" + clientPhase + ",upstream=" + route, 1L),
				Map.of("hangup=" + kind + ",status=" + status + "," + uri, 1L),
				Map.of("hangup=" + kind + ",method=GET", 1L));
	}

	private static void assertMeters(ConfigurableApplicationContext app, Map<String, Long> serverHangups,
			Map<String, Long> clientHangups, Map<String, Long> serverRequests, Map<String, Long> clientRequests) {
		HangupMeters.awaitAll(app.getBean(MeterRegistry.class), serverHangups, clientHangups, serverRequests,
				new String[] { HangupObservations.KEY, "status", "uri" }, clientRequests);
	}

}
