package io.github.hangup.servlet;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.time.Duration;
import java.util.Map;

import io.github.hangup.HangupObservations;
import io.github.hangup.metrics.HangupMetrics;
import io.github.hangup.support.FaultyUpstream;
import io.github.hangup.support.HangupMeters;
import io.github.hangup.support.RawHttpClient;
import io.github.hangup.support.RawHttpClient.Ending;
import io.github.hangup.support.RawHttpClient.Head;
import io.github.hangup.support.RawHttpClient.Rest;
import io.github.hangup.support.ServletRelay;
import io.github.hangup.support.Settled;
import io.micrometer.core.instrument.binder.MeterBinder;
import jakarta.servlet.http.HttpServletResponse;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import org.springframework.boot.restclient.RestTemplateBuilder;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.core.env.Environment;
import org.springframework.http.HttpMethod;
import org.springframework.http.client.JdkClientHttpRequestFactory;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.client.RestClient;
import org.springframework.web.client.RestTemplate;
import org.springframework.web.client.support.RestClientAdapter;
import org.springframework.web.reactive.function.client.WebClient;
import org.springframework.web.service.annotation.GetExchange;
import org.springframework.web.service.invoker.HttpServiceProxyFactory;
import org.springframework.web.util.DefaultUriBuilderFactory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The hang-up matrix through a real Spring MVC application on Tomcat, relaying with the
 * {@code RestClient} and {@code RestTemplate} Boot builds (on the JDK's
 * {@code HttpClient}), one with an interceptor of the application's own, an
 * {@code @HttpExchange} interface over that {@code RestClient}, and Boot's
 * {@code WebClient} blocked on, in front of a raw-socket upstream that misbehaves on
 * purpose. Each test asserts what the client sees and the exact counts on both of
 * Hangup's meters and on Boot's server timer.
 */
@ExtendWith(OutputCaptureExtension.class)
class MvcHangupIntegrationTests {

	private static final Duration READ_TIMEOUT = Duration.ofSeconds(10);

	private static final int refusedPort = FaultyUpstream.refusedPort();

	@RegisterExtension
	static final ServletRelay relay = ServletRelay.of(RelayController.class,
			"test.refused=http://127.0.0.1:" + refusedPort, "spring.http.clients.read-timeout=1s");

	@ParameterizedTest
	@ValueSource(strings = { "rest-client", "rest-template", "http-exchange", "web-client", "intercepted" })
	void healthyCallIsRelayedAndRecordsNothing(String client) throws Exception {
		try (RawHttpClient raw = new RawHttpClient(relay.port(), READ_TIMEOUT)) {
			Head head = raw.send("GET", "/" + client + "/ok", "Connection: close").readHead();
			assertThat(head.status()).isEqualTo(200);
			assertThat(raw.readRest().text()).contains("hello");
		}
		assertServerRequest(client, HangupObservations.NONE, "200", "SUCCESS");
		assertClientRequest(HangupObservations.NONE);
		HangupMeters.awaitCounts(relay.registry(), HangupMetrics.SERVER_HANGUPS, Map.of());
		HangupMeters.awaitClientHangups(relay.registry(), Map.of());
	}

	@ParameterizedTest
	@ValueSource(strings = { "rest-client", "rest-template", "http-exchange", "web-client" })
	void upstreamClosingWithoutAnAnswerIsAnswered502AndCountedOnceOnEachSide(String client) throws Exception {
		assertAnswered(client, "/close", 502, "UPSTREAM_RESET",
				"The upstream service closed the connection before completing its response.");
	}

	@ParameterizedTest
	@ValueSource(strings = { "rest-client", "rest-template", "http-exchange", "web-client", "intercepted" })
	void upstreamResetIsAnswered502AndCountedOnceOnEachSide(String client) throws Exception {
		assertAnswered(client, "/reset", 502, "UPSTREAM_RESET",
				"The upstream service closed the connection before completing its response.");
	}

	@ParameterizedTest
	@ValueSource(strings = { "rest-client", "rest-template", "http-exchange", "web-client", "intercepted" })
	void upstreamSlowerThanBootsReadTimeoutIsAnswered504AndCountedOnceOnEachSide(String client) throws Exception {
		assertAnswered(client, "/hang", 504, "UPSTREAM_TIMEOUT", "The upstream service did not respond in time.");
	}

	@ParameterizedTest
	@ValueSource(strings = { "rest-client", "rest-template", "http-exchange", "web-client" })
	void refusedConnectionIsAnswered502AndCountedOnceOnEachSide(String client) throws Exception {
		String route = "/" + client + "-refused/{path}";
		Head head;
		String body;
		try (RawHttpClient raw = new RawHttpClient(relay.port(), READ_TIMEOUT)) {
			head = raw.send("GET", "/" + client + "-refused/ok", "Connection: close").readHead();
			body = raw.readRest().text();
		}
		assertThat(head.status()).isEqualTo(502);
		assertThat(head.header("content-type")).isEqualTo("application/problem+json");
		assertThat(body).contains("\"hangup\":\"UPSTREAM_UNREACHABLE\"")
			.contains("\"detail\":\"The upstream service could not be reached.\"")
			.doesNotContain(String.valueOf(refusedPort));
		HangupMeters.awaitCounts(relay.registry(), HangupMetrics.SERVER_HANGUPS,
				Map.of("kind=UPSTREAM_UNREACHABLE,method=GET,phase=BEFORE_RESPONSE,uri=" + route, 1L));
		HangupMeters.awaitClientHangups(relay.registry(), Map
			.of("kind=UPSTREAM_UNREACHABLE,method=GET,phase=BEFORE_RESPONSE,upstream=127.0.0.1:" + refusedPort, 1L));
		assertClientRequest("UPSTREAM_UNREACHABLE");
	}

	// HTTP/2 frames, with no line ending before the close, are a connection closed
	// mid-status-line to the JDK's parser: UPSTREAM_RESET, as the README says.
	@ParameterizedTest
	@CsvSource({ "rest-client,not-http", "rest-template,not-http", "rest-client,status-abc",
			"rest-template,status-abc" })
	void replyThatIsNotHttpIsAnswered502AsAProtocolErrorAndCountedOnceOnEachSide(String client, String reply)
			throws Exception {
		Head head;
		String body;
		try (RawHttpClient raw = new RawHttpClient(relay.port(), READ_TIMEOUT)) {
			head = raw.send("GET", "/" + client + "-malformed/" + reply, "Connection: close").readHead();
			body = raw.readRest().text();
		}
		assertThat(head.status()).isEqualTo(502);
		assertThat(head.header("content-type")).isEqualTo("application/problem+json");
		assertThat(body).contains("\"hangup\":\"UPSTREAM_PROTOCOL_ERROR\"").doesNotContain("127.0.0.1");
		HangupMeters.awaitCounts(relay.registry(), HangupMetrics.SERVER_HANGUPS, Map.of(
				"kind=UPSTREAM_PROTOCOL_ERROR,method=GET,phase=BEFORE_RESPONSE,uri=/" + client + "-malformed/{reply}",
				1L));
		HangupMeters.awaitClientHangups(relay.registry(),
				Map.of("kind=UPSTREAM_PROTOCOL_ERROR,method=GET,phase=BEFORE_RESPONSE,upstream=127.0.0.1:"
						+ relay.upstream().port(), 1L));
		assertClientRequest("UPSTREAM_PROTOCOL_ERROR");
	}

	/**
	 * {@code hangup.server.scopes.active} counts a request while it is served, as on
	 * WebFlux, and is back to zero once it ended.
	 */
	@Test
	void requestBeingServedIsGaugedUntilItEnds() throws Exception {
		// Bound again: each test starts with the registry cleared, gauges included.
		relay.app().getBean("hangupServletScopesMetrics", MeterBinder.class).bindTo(relay.registry());
		int receivedBefore = relay.upstream().received("/hang");
		try (RawHttpClient raw = new RawHttpClient(relay.port(), READ_TIMEOUT)) {
			raw.send("GET", "/rest-client/hang", "Connection: close");
			relay.upstream().awaitReceived("/hang", receivedBefore + 1);
			assertThat(openScopes()).isEqualTo(1.0);
			assertThat(raw.readHead().status()).isEqualTo(504);
		}
		Settled.awaitAndHold("open scopes", MvcHangupIntegrationTests::openScopes, 0.0);
	}

	private static double openScopes() {
		return relay.registry().get(HangupMetrics.SERVER_SCOPES_ACTIVE).gauge().value();
	}

	@Test
	void upstreamResetOfAClientHangupDoesNotSeeIsBlamedOnTheUpstreamNeverOnTheClient() throws Exception {
		// A RestTemplate made by hand: its "Connection reset" reaches MVC raw, wrapped by
		// Spring.
		Head head;
		String body;
		try (RawHttpClient raw = new RawHttpClient(relay.port(), READ_TIMEOUT)) {
			head = raw.send("GET", "/plain-rest-template/reset", "Connection: close").readHead();
			body = raw.readRest().text();
		}
		assertThat(head.status()).isEqualTo(502);
		assertThat(body).contains("\"hangup\":\"UPSTREAM_RESET\"");
		HangupMeters.awaitCounts(relay.registry(), HangupMetrics.SERVER_HANGUPS,
				Map.of("kind=UPSTREAM_RESET,method=GET,phase=BEFORE_RESPONSE,uri=/plain-rest-template/{path}", 1L));
		HangupMeters.awaitClientHangups(relay.registry(), Map.of());
	}

	@ParameterizedTest
	@ValueSource(strings = { "rest-client", "rest-template" })
	void upstreamStallingMidBodyCutsTheCommittedResponseAndIsCountedOnceOnEachSide(String client, CapturedOutput output)
			throws Exception {
		Head head;
		Rest rest;
		try (RawHttpClient raw = new RawHttpClient(relay.port(), READ_TIMEOUT)) {
			head = raw.send("GET", "/" + client + "-relay/stall-mid-body").readHead();
			rest = raw.readRest();
		}
		assertThat(head.status()).isEqualTo(200);
		assertThat(head.header("transfer-encoding")).isEqualTo("chunked");
		// What arrived before the stall is relayed, then the connection is cut at once,
		// without the final chunk: the client does not take it for a complete body.
		assertThat(rest.ending()).isNotEqualTo(Ending.STALLED);
		assertThat(rest.bytes()).hasSizeGreaterThanOrEqualTo(FaultyUpstream.SENT_LENGTH);
		assertThatThrownBy(() -> RawHttpClient.payloadOfChunked(rest.bytes())).isInstanceOf(AssertionError.class);
		HangupMeters.awaitCounts(relay.registry(), HangupMetrics.SERVER_HANGUPS,
				Map.of("kind=UPSTREAM_TIMEOUT,method=GET,phase=DURING_RESPONSE,uri=/" + client + "-relay/{path}", 1L));
		HangupMeters.awaitClientHangups(relay.registry(), Map.of(
				"kind=UPSTREAM_TIMEOUT,method=GET,phase=DURING_RESPONSE,upstream=127.0.0.1:" + relay.upstream().port(),
				1L));
		HangupMeters.awaitCounts(relay.registry(), "http.server.requests", Map
			.of("hangup=UPSTREAM_TIMEOUT,method=GET,outcome=UNKNOWN,status=200,uri=/" + client + "-relay/{path}", 1L),
				HangupObservations.KEY, "method", "outcome", "status", "uri");
		assertClientRequest("UPSTREAM_TIMEOUT");
		assertThat(output).doesNotContain("Servlet.service()");
	}

	@ParameterizedTest
	@ValueSource(strings = { "rest-client", "rest-template" })
	void upstreamResettingMidBodyIsCountedOnceAsAResetNotATimeout(String client) throws Exception {
		// The JDK client's body fails with IOException("closed") here too, as when its
		// read timeout closes it, but with the reset as its cause. The reset may reach
		// the relay before the bytes sent ahead of it (Linux drops received data a reset
		// overtakes), so the response is either cut after its head or answered 502: a
		// reset either way.
		Head head;
		try (RawHttpClient raw = new RawHttpClient(relay.port(), READ_TIMEOUT)) {
			head = raw.send("GET", "/" + client + "-relay/reset-mid-body", "Connection: close").readHead();
			raw.readRest();
		}
		assertThat(head.status()).isIn(200, 502);
		HangupMeters.awaitCounts(relay.registry(), HangupMetrics.SERVER_HANGUPS, Map.of("kind=UPSTREAM_RESET", 1L),
				"kind");
		HangupMeters.awaitCounts(relay.registry(), "http.client.hangups", Map.of("kind=UPSTREAM_RESET", 1L), "kind");
		assertClientRequest("UPSTREAM_RESET");
	}

	@ParameterizedTest
	@ValueSource(strings = { "rest-client", "rest-template", "intercepted" })
	void bodyFailureTheApplicationSwallowsIsStillTaggedOnBootsClientTimer(String client) throws Exception {
		// The observation sees no error: only the call itself knows its body was cut.
		try (RawHttpClient raw = new RawHttpClient(relay.port(), READ_TIMEOUT)) {
			Head head = raw.send("GET", "/" + client + "-swallow/stall-mid-body", "Connection: close").readHead();
			assertThat(head.status()).isEqualTo(200);
			assertThat(raw.readRest().text()).isEqualTo("fallback");
		}
		HangupMeters.awaitClientHangups(relay.registry(), Map.of(
				"kind=UPSTREAM_TIMEOUT,method=GET,phase=DURING_RESPONSE,upstream=127.0.0.1:" + relay.upstream().port(),
				1L));
		assertClientRequest("UPSTREAM_TIMEOUT");
		HangupMeters.awaitCounts(relay.registry(), HangupMetrics.SERVER_HANGUPS, Map.of());
	}

	@ParameterizedTest
	@ValueSource(strings = { "rest-client", "rest-template" })
	void clientLeavingMidResponseIsCountedOnceAsAClientCancelWithoutAnErrorLog(String client, CapturedOutput output)
			throws Exception {
		try (RawHttpClient raw = new RawHttpClient(relay.port(), READ_TIMEOUT)) {
			Head head = raw.send("GET", "/" + client + "-relay/big").readHead();
			assertThat(head.status()).isEqualTo(200);
			// Leaves with megabytes still to come: Tomcat finds it gone at its next
			// write.
			raw.reset();
		}
		HangupMeters.awaitCounts(relay.registry(), HangupMetrics.SERVER_HANGUPS,
				Map.of("kind=CLIENT_CANCEL,method=GET,phase=DURING_RESPONSE,uri=/" + client + "-relay/{path}", 1L));
		HangupMeters.awaitCounts(relay.registry(), "http.server.requests",
				Map.of("hangup=CLIENT_CANCEL,method=GET,uri=/" + client + "-relay/{path}", 1L), HangupObservations.KEY,
				"method", "uri");
		assertThat(output).doesNotContain("Servlet.service()").doesNotContain(" ERROR ").doesNotContain(" WARN ");
	}

	private static void assertAnswered(String client, String path, int status, String kind, String detail)
			throws IOException {
		Head head;
		String body;
		try (RawHttpClient raw = new RawHttpClient(relay.port(), READ_TIMEOUT)) {
			head = raw.send("GET", "/" + client + path, "Connection: close").readHead();
			body = raw.readRest().text();
		}
		assertThat(head.status()).isEqualTo(status);
		assertThat(head.header("content-type")).isEqualTo("application/problem+json");
		assertThat(head.header("cache-control")).isEqualTo("no-store");
		assertThat(body).contains("\"hangup\":\"" + kind + "\"")
			.contains("\"status\":" + status)
			.contains("\"type\":\"about:blank\"")
			.contains("\"detail\":\"" + detail + "\"")
			.doesNotContain("127.0.0.1");
		HangupMeters.awaitCounts(relay.registry(), HangupMetrics.SERVER_HANGUPS,
				Map.of("kind=" + kind + ",method=GET,phase=BEFORE_RESPONSE,uri=/" + client + "/{path}", 1L));
		HangupMeters.awaitClientHangups(relay.registry(), Map.of(
				"kind=" + kind + ",method=GET,phase=BEFORE_RESPONSE,upstream=127.0.0.1:" + relay.upstream().port(),
				1L));
		assertServerRequest(client, kind, String.valueOf(status), (status >= 500) ? "SERVER_ERROR" : "CLIENT_ERROR");
		assertClientRequest(kind);
	}

	/**
	 * Boot's client timer counted the scenario's one call once, with the hangup key.
	 */
	private static void assertClientRequest(String hangup) {
		HangupMeters.awaitCounts(relay.registry(), "http.client.requests",
				Map.of("hangup=" + hangup + ",method=GET", 1L), HangupObservations.KEY, "method");
	}

	/**
	 * Boot's server timer counted the scenario's one request once, with its status,
	 * outcome and hangup key.
	 */
	private static void assertServerRequest(String client, String hangup, String status, String outcome) {
		HangupMeters.awaitCounts(
				relay.registry(), "http.server.requests", Map.of("hangup=" + hangup + ",method=GET,outcome=" + outcome
						+ ",status=" + status + ",uri=/" + client + "/{path}", 1L),
				HangupObservations.KEY, "method", "outcome", "status", "uri");
	}

	/**
	 * Relays to the upstream with the clients Boot builds, as an application would.
	 */
	@RestController
	static class RelayController {

		private final RestClient restClient;

		private final RestClient refusedRestClient;

		private final RestTemplate restTemplate;

		private final RestTemplate refusedRestTemplate;

		private final RestTemplate plainRestTemplate;

		private final RelayService relayService;

		private final RestClient interceptedRestClient;

		private final RelayService refusedRelayService;

		private final WebClient webClient;

		private final WebClient refusedWebClient;

		RelayController(RestClient.Builder restClients, RestTemplateBuilder restTemplates, WebClient.Builder webClients,
				Environment environment) {
			String upstream = environment.getRequiredProperty("test.upstream");
			String refused = environment.getRequiredProperty("test.refused");
			this.restClient = restClients.clone().baseUrl(upstream).build();
			this.refusedRestClient = restClients.clone().baseUrl(refused).build();
			this.restTemplate = restTemplates.rootUri(upstream).build();
			this.refusedRestTemplate = restTemplates.rootUri(refused).build();
			this.plainRestTemplate = new RestTemplate(new JdkClientHttpRequestFactory());
			this.plainRestTemplate.setUriTemplateHandler(new DefaultUriBuilderFactory(upstream));
			this.relayService = RelayService.over(restClients.clone().baseUrl(upstream).build());
			// An interceptor of the application's own: the call is made by another
			// request than the one Boot's observation sees.
			this.interceptedRestClient = restClients.clone()
				.baseUrl(upstream)
				.requestInterceptor((request, body, execution) -> execution.execute(request, body))
				.build();
			this.refusedRelayService = RelayService.over(restClients.clone().baseUrl(refused).build());
			this.webClient = webClients.clone().baseUrl(upstream).build();
			this.refusedWebClient = webClients.clone().baseUrl(refused).build();
		}

		@GetMapping("/intercepted/{path}")
		String intercepted(@PathVariable String path) {
			return this.interceptedRestClient.get().uri("/" + path).retrieve().body(String.class);
		}

		@GetMapping("/intercepted-swallow/{path}")
		String interceptedSwallow(@PathVariable String path) {
			return this.interceptedRestClient.get()
				.uri("/" + path)
				.exchange((request, upstreamResponse) -> drain(upstreamResponse.getBody()));
		}

		@GetMapping("/http-exchange/{path}")
		String httpExchange(@PathVariable String path) {
			return this.relayService.get(path);
		}

		@GetMapping("/http-exchange-refused/{path}")
		String httpExchangeRefused(@PathVariable String path) {
			return this.refusedRelayService.get(path);
		}

		@GetMapping("/web-client/{path}")
		@Nullable String webClient(@PathVariable String path) {
			return this.webClient.get().uri("/" + path).retrieve().bodyToMono(String.class).block();
		}

		@GetMapping("/web-client-refused/{path}")
		@Nullable String webClientRefused(@PathVariable String path) {
			return this.refusedWebClient.get().uri("/" + path).retrieve().bodyToMono(String.class).block();
		}

		@GetMapping("/rest-client/{path}")
		String restClient(@PathVariable String path) {
			return this.restClient.get().uri("/" + path).retrieve().body(String.class);
		}

		@GetMapping("/rest-template/{path}")
		String restTemplate(@PathVariable String path) {
			return this.restTemplate.getForObject("/" + path, String.class);
		}

		@GetMapping("/rest-client-refused/{path}")
		String restClientRefused(@PathVariable String path) {
			return this.refusedRestClient.get().uri("/" + path).retrieve().body(String.class);
		}

		@GetMapping("/rest-template-refused/{path}")
		String restTemplateRefused(@PathVariable String path) {
			return this.refusedRestTemplate.getForObject("/" + path, String.class);
		}

		@GetMapping("/plain-rest-template/{path}")
		String plainRestTemplate(@PathVariable String path) {
			return this.plainRestTemplate.getForObject("/" + path, String.class);
		}

		@GetMapping("/rest-client-relay/{path}")
		void restClientRelay(@PathVariable String path, HttpServletResponse response) {
			this.restClient.get().uri("/" + path).exchange((request, upstreamResponse) -> {
				relay(upstreamResponse.getBody(), response);
				return null;
			});
		}

		@GetMapping("/rest-template-relay/{path}")
		void restTemplateRelay(@PathVariable String path, HttpServletResponse response) {
			this.restTemplate.execute("/" + path, HttpMethod.GET, null, (upstreamResponse) -> {
				relay(upstreamResponse.getBody(), response);
				return null;
			});
		}

		@GetMapping("/rest-client-malformed/{reply}")
		String restClientMalformed(@PathVariable String reply) {
			return this.restClient.get().uri("/malformed/" + reply).retrieve().body(String.class);
		}

		@GetMapping("/rest-template-malformed/{reply}")
		String restTemplateMalformed(@PathVariable String reply) {
			return this.restTemplate.getForObject("/malformed/" + reply, String.class);
		}

		@GetMapping("/rest-client-swallow/{path}")
		String restClientSwallow(@PathVariable String path) {
			return this.restClient.get()
				.uri("/" + path)
				.exchange((request, upstreamResponse) -> drain(upstreamResponse.getBody()));
		}

		@GetMapping("/rest-template-swallow/{path}")
		String restTemplateSwallow(@PathVariable String path) {
			return this.restTemplate.execute("/" + path, HttpMethod.GET, null,
					(upstreamResponse) -> drain(upstreamResponse.getBody()));
		}

		/** Reads a body to its end, answering a fallback when it fails. */
		private static String drain(InputStream body) {
			try {
				body.readAllBytes();
				return "complete";
			}
			catch (IOException ex) {
				return "fallback";
			}
		}

		/**
		 * A streaming relay: each piece of the upstream's body is sent on as it arrives.
		 */
		private static void relay(InputStream body, HttpServletResponse response) throws IOException {
			response.setStatus(200);
			response.setContentType("text/plain");
			OutputStream out = response.getOutputStream();
			byte[] buffer = new byte[8192];
			int read;
			while ((read = body.read(buffer)) != -1) {
				out.write(buffer, 0, read);
				out.flush();
			}
		}

	}

	/** An HTTP service interface over a {@code RestClient} Boot built. */
	interface RelayService {

		@GetExchange("/{path}")
		String get(@PathVariable String path);

		static RelayService over(RestClient client) {
			return HttpServiceProxyFactory.builderFor(RestClientAdapter.create(client))
				.build()
				.createClient(RelayService.class);
		}

	}

}
