package io.github.hangup.servlet;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import io.github.hangup.ClientCancelException;
import io.github.hangup.HangupObservations;
import io.github.hangup.metrics.HangupMetrics;
import io.github.hangup.support.ClientLeaving;
import io.github.hangup.support.FaultyUpstream;
import io.github.hangup.support.HangupMeters;
import io.github.hangup.support.RawHttpClient;
import io.github.hangup.support.RawHttpClient.Head;
import io.github.hangup.support.ServletRelay;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import org.springframework.boot.restclient.RestTemplateBuilder;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.core.env.Environment;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.client.RestClient;
import org.springframework.web.client.RestTemplate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.params.provider.Arguments.arguments;

/**
 * A client leaving a synchronous request on Jetty while the request waits on its upstream
 * and writes nothing, run by the {@code jetty-test} execution. Jetty would find the
 * client gone only at the response's write, after the upstream answered: Hangup's watch
 * of the connection stops the call well before the response timeout, the waiting thread
 * gets {@link ClientCancelException}, each meter counts it once, and nothing is logged at
 * WARN or ERROR.
 */
@Tag("jetty")
@ExtendWith(OutputCaptureExtension.class)
class MvcJettyClientLeavingTests {

	private static final Duration READ_TIMEOUT = Duration.ofSeconds(10);

	@RegisterExtension
	static final ServletRelay relay = ServletRelay.of(WaitingController.class,
			"spring.http.clients.read-timeout=" + READ_TIMEOUT);

	@BeforeEach
	void clear() {
		WaitingController.outcomes.clear();
	}

	/** The client, how it leaves, and what it sends before. */
	static Stream<Arguments> leavings() {
		return Stream.of(arguments("rest-client", "close", "GET"), arguments("rest-client", "reset", "GET"),
				arguments("rest-template", "close", "GET"), arguments("rest-template", "reset", "GET"),
				arguments("rest-client", "close", "POST"), arguments("rest-client", "reset", "POST chunked"));
	}

	@ParameterizedTest(name = "{0} {1} {2}")
	@MethodSource("leavings")
	void clientLeavingASynchronousRequestThatWritesNothingStopsItsCall(String client, String leaving, String sent,
			CapturedOutput output) throws Exception {
		int receivedBefore = relay.upstream().received("/gate");
		int closedBefore = relay.upstream().peerClosed("/gate");
		String route = sent.startsWith("POST") ? "/post/" + client : "/call/" + client;
		long left;
		try (RawHttpClient raw = new RawHttpClient(relay.port(), READ_TIMEOUT)) {
			if (sent.equals("GET")) {
				raw.send("GET", route);
			}
			else if (sent.equals("POST")) {
				raw.send("POST", route, "Content-Type: text/plain", "Content-Length: 5");
				raw.write("hello".getBytes(StandardCharsets.US_ASCII));
			}
			else {
				raw.send("POST", route, "Content-Type: text/plain", "Transfer-Encoding: chunked");
				raw.write("5\r\nhello\r\n0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
			}
			relay.upstream().awaitReceived("/gate", receivedBefore + 1);
			left = System.nanoTime();
			if (leaving.equals("reset")) {
				raw.reset();
			}
		}
		relay.upstream().awaitPeerClosed("/gate", closedBefore + 1);
		assertThat(Duration.ofNanos(System.nanoTime() - left)).as("time to stop the call")
			.isLessThan(READ_TIMEOUT.dividedBy(5));
		Object outcome = WaitingController.outcomes.poll(READ_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
		assertThat(outcome).as("what the waiting thread got").isInstanceOf(Exception.class);
		assertThat(ClientLeaving.causes((Throwable) outcome)).hasAtLeastOneElementOfType(ClientCancelException.class);
		String uri = route.replace(client, "{client}");
		String method = sent.startsWith("POST") ? "POST" : "GET";
		HangupMeters.awaitAll(relay.registry(),
				Map.of("kind=CLIENT_CANCEL,method=" + method + ",phase=BEFORE_RESPONSE,uri=" + uri, 1L),
				Map.of("kind=CLIENT_CANCEL,method=GET,phase=BEFORE_RESPONSE,upstream=127.0.0.1:"
						+ relay.upstream().port(), 1L),
				Map.of("hangup=CLIENT_CANCEL,uri=" + uri, 1L), new String[] { HangupObservations.KEY, "uri" },
				Map.of("hangup=CLIENT_CANCEL,method=GET", 1L));
		assertThat(relay.upstream().answered("/gate")).isZero();
		assertThat(WaitingController.outcomes).isEmpty();
		assertThat(output).doesNotContain(" ERROR ").doesNotContain(" WARN ");
	}

	/**
	 * A request whose body is still coming while it waits on a call (an upload relayed as
	 * it arrives) is not taken for its client leaving: the bytes to read are the body's.
	 */
	@Test
	void bodyStillComingWhileTheRequestWaitsIsNotTakenForTheClientLeaving() throws Exception {
		int receivedBefore = relay.upstream().received("/trickle");
		try (RawHttpClient raw = new RawHttpClient(relay.port(), READ_TIMEOUT)) {
			raw.send("POST", "/late-body", "Content-Type: text/plain", "Content-Length: 10", "Connection: close");
			raw.write("hello".getBytes(StandardCharsets.US_ASCII));
			// The handler waits on a call that takes a second before it reads the body:
			// the rest of the body waits to be read through several looks.
			relay.upstream().awaitReceived("/trickle", receivedBefore + 1);
			raw.write("world".getBytes(StandardCharsets.US_ASCII));
			Head head = raw.readHead();
			assertThat(head.status()).isEqualTo(200);
			assertThat(raw.readRest().text()).isEqualTo("helloworld" + "x".repeat(FaultyUpstream.TRICKLE_CHUNKS));
		}
		HangupMeters.awaitCounts(relay.registry(), "http.server.requests",
				Map.of("hangup=NONE,status=200,uri=/late-body", 1L), HangupObservations.KEY, "status", "uri");
		HangupMeters.awaitCounts(relay.registry(), HangupMetrics.SERVER_HANGUPS, Map.of());
		HangupMeters.awaitClientHangups(relay.registry(), Map.of());
	}

	@RestController
	static class WaitingController {

		static final BlockingQueue<Object> outcomes = new LinkedBlockingQueue<>();

		private final RestClient restClient;

		private final RestTemplate restTemplate;

		WaitingController(RestClient.Builder restClients, RestTemplateBuilder restTemplates, Environment environment) {
			String upstream = environment.getRequiredProperty("test.upstream");
			this.restClient = restClients.clone().baseUrl(upstream).build();
			this.restTemplate = restTemplates.rootUri(upstream).build();
		}

		@GetMapping("/call/{client}")
		String call(@PathVariable String client) {
			return gate(client);
		}

		@PostMapping("/post/{client}")
		String post(@PathVariable String client, @RequestBody String body) {
			return body + gate(client);
		}

		@PostMapping("/late-body")
		String lateBody(jakarta.servlet.http.HttpServletRequest request) throws java.io.IOException {
			// A call that takes a second, waited on before the body is read.
			String answer = this.restClient.get().uri("/trickle").retrieve().body(String.class);
			return new String(request.getInputStream().readAllBytes(), StandardCharsets.US_ASCII) + answer;
		}

		private String gate(String client) {
			try {
				String answer = client.equals("rest-template") ? this.restTemplate.getForObject("/gate", String.class)
						: this.restClient.get().uri("/gate").retrieve().body(String.class);
				outcomes.add("answered " + answer);
				return answer;
			}
			catch (RuntimeException ex) {
				outcomes.add(ex);
				throw ex;
			}
		}

	}

}
