package io.github.hangup.servlet;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.time.Duration;
import java.util.Map;

import io.github.hangup.HangupObservations;
import io.github.hangup.client.OutboundCalls;
import io.github.hangup.metrics.HangupMetrics;
import io.github.hangup.support.FaultyUpstream;
import io.github.hangup.support.HangupMeters;
import io.github.hangup.support.RawHttpClient;
import io.github.hangup.support.RawHttpClient.Head;
import io.github.hangup.support.ServletRelay;
import jakarta.servlet.http.HttpServletResponse;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.core.env.Environment;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.client.RestClient;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A client leaving a Spring MVC request on Tomcat while the request relays the body of a
 * {@code RestClient} call (Boot's, on the JDK's {@code HttpClient}): Tomcat finds the
 * client gone at the relay's next write, the relayed call is closed there and then (the
 * upstream sees its connection closed before its body ended), and the hang-up is counted
 * once on each side.
 */
@ExtendWith(OutputCaptureExtension.class)
class MvcClientLeavingTests {

	/**
	 * Far beyond any wait of these tests: only the client leaving ends a call to /hang.
	 */
	private static final Duration READ_TIMEOUT = Duration.ofSeconds(30);

	private static OutboundCalls calls;

	@RegisterExtension
	static final ServletRelay relay = ServletRelay.of(LeavingController.class, "spring.http.clients.read-timeout=30s");

	@BeforeAll
	static void start() {
		calls = relay.app().getBean(OutboundCalls.class);
	}

	@AfterEach
	void nothingLeftWaiting() {
		await().atMost(Duration.ofSeconds(10)).until(() -> calls.inFlight() == 0);
	}

	@Test
	void clientLeavingASynchronousRelayMidBodyAbortsTheRelayedCallAtTheNextWriteAndIsCountedOnceOnEachSide(
			CapturedOutput output) throws Exception {
		assertLeavingMidBodyAbortsTheCall("/relay/trickle", "/relay/{path}");
		assertQuiet(output);
	}

	/**
	 * A client that read the whole response, of a declared length, and closed while the
	 * request still read the rest of its call's body (it wrote all it had to) got its
	 * answer: the connection watch finds it gone, but it is not counted as leaving, and
	 * the call goes on to its end.
	 */
	@Test
	void clientClosingOnceItReadTheWholeResponseHasNotLeft(CapturedOutput output) throws Exception {
		int answeredBefore = relay.upstream().answered("/trickle");
		try (RawHttpClient raw = new RawHttpClient(relay.port(), READ_TIMEOUT)) {
			Head head = raw.send("GET", "/first-half/trickle").readHead();
			assertThat(head.status()).isEqualTo(200);
			assertThat(raw.readBytes(LeavingController.HALF)).hasSize(LeavingController.HALF);
		}
		// The second half takes half a second: two looks at the closed connection.
		await().atMost(READ_TIMEOUT).until(() -> relay.upstream().answered("/trickle") > answeredBefore);
		HangupMeters.awaitAll(relay.registry(), Map.of(), Map.of(),
				Map.of("hangup=NONE,status=200,uri=/first-half/{path}", 1L),
				new String[] { HangupObservations.KEY, "status", "uri" }, Map.of("hangup=NONE,method=GET", 1L));
		assertQuiet(output);
	}

	/**
	 * The client leaves while the upstream's body trickles in: Tomcat finds it gone at
	 * the relay's next write, and the relayed call is closed there and then, long before
	 * the upstream would have finished its body.
	 */
	private static void assertLeavingMidBodyAbortsTheCall(String path, String route) throws Exception {
		int closedBefore = relay.upstream().peerClosed("/trickle");
		int answeredBefore = relay.upstream().answered("/trickle");
		try (RawHttpClient raw = new RawHttpClient(relay.port(), READ_TIMEOUT)) {
			Head head = raw.send("GET", path).readHead();
			assertThat(head.status()).isEqualTo(200);
			raw.readBytes(1);
			raw.reset();
		}
		relay.upstream().awaitPeerClosed("/trickle", closedBefore + 1);
		assertThat(relay.upstream().answered("/trickle")).as("bodies the upstream finished").isEqualTo(answeredBefore);
		HangupMeters.awaitCounts(relay.registry(), HangupMetrics.SERVER_HANGUPS,
				Map.of("kind=CLIENT_CANCEL,method=GET,phase=DURING_RESPONSE,uri=" + route, 1L));
		HangupMeters.awaitClientHangups(relay.registry(), Map.of(
				"kind=CLIENT_CANCEL,method=GET,phase=DURING_RESPONSE,upstream=127.0.0.1:" + relay.upstream().port(),
				1L));
		HangupMeters.awaitCounts(relay.registry(), "http.server.requests",
				Map.of("hangup=CLIENT_CANCEL,method=GET,uri=" + route, 1L), HangupObservations.KEY, "method", "uri");
	}

	private static void assertQuiet(CapturedOutput output) {
		assertThat(output).doesNotContain(" ERROR ").doesNotContain(" WARN ").doesNotContain("Servlet.service()");
	}

	/**
	 * Relays the upstream's body as it comes.
	 */
	@RestController
	static class LeavingController {

		private final RestClient restClient;

		LeavingController(RestClient.Builder restClients, Environment environment) {
			this.restClient = restClients.clone().baseUrl(environment.getRequiredProperty("test.upstream")).build();
		}

		@GetMapping("/relay/{path}")
		void relay(@PathVariable String path, HttpServletResponse response) {
			response.setContentType("text/plain");
			this.restClient.get().uri("/" + path).exchange((request, upstreamResponse) -> {
				relay(upstreamResponse.getBody(), response.getOutputStream());
				return null;
			});
		}

		static final int HALF = FaultyUpstream.TRICKLE_CHUNKS / 2;

		/**
		 * Answers the first half of the upstream's body, with its length, then reads the
		 * rest without writing it.
		 */
		@GetMapping("/first-half/{path}")
		void firstHalf(@PathVariable String path, HttpServletResponse response) {
			response.setContentType("text/plain");
			response.setContentLength(HALF);
			this.restClient.get().uri("/" + path).exchange((request, upstreamResponse) -> {
				InputStream body = upstreamResponse.getBody();
				OutputStream out = response.getOutputStream();
				for (int i = 0; i < HALF; i++) {
					out.write(body.read());
					out.flush();
				}
				body.readAllBytes();
				return null;
			});
		}

		/** Copies a body to the client piece by piece, flushing each. */
		static void relay(InputStream body, OutputStream out) throws IOException {
			byte[] buffer = new byte[8192];
			int read;
			while ((read = body.read(buffer)) != -1) {
				out.write(buffer, 0, read);
				out.flush();
			}
		}

	}

}
