package io.github.hangup.servlet;

import java.io.IOException;
import java.io.OutputStream;
import java.time.Duration;
import java.util.Map;

import io.github.hangup.client.OutboundCalls;
import io.github.hangup.metrics.HangupMetrics;
import io.github.hangup.support.FaultyUpstream;
import io.github.hangup.support.HangupMeters;
import io.github.hangup.support.RawHttpClient;
import io.github.hangup.support.ServletTestApps;
import io.github.hangup.support.TestApps;
import io.micrometer.core.instrument.MeterRegistry;
import jakarta.servlet.http.HttpServletRequest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.core.env.Environment;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.client.RestClient;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A client that leaves in the middle of its upload, which a Spring MVC request on Tomcat
 * streams to the upstream with Boot's {@code RestClient} (on the JDK's
 * {@code HttpClient}), as a relay does. The request's read of the upload fails; the
 * upstream sees its call stopped; the request is counted once as its client leaving on
 * each side, never as the upstream's fault, and nothing is logged above DEBUG.
 */
@ExtendWith(OutputCaptureExtension.class)
class MvcUploadAbortTests {

	private static final int DECLARED = 1024 * 1024;

	private static final int SENT = 20 * 1024;

	private static FaultyUpstream upstream;

	private static ConfigurableApplicationContext app;

	private static MeterRegistry registry;

	@BeforeAll
	static void start() throws Exception {
		upstream = new FaultyUpstream();
		app = ServletTestApps.start(UploadController.class, "test.upstream=" + upstream.baseUrl(),
				"spring.http.clients.imperative.factory=jdk", "spring.http.clients.read-timeout=30s");
		registry = app.getBean(MeterRegistry.class);
	}

	@AfterAll
	static void stop() throws Exception {
		app.close();
		upstream.close();
	}

	@BeforeEach
	void clearMeters() {
		registry.clear();
	}

	/** The client closes its connection (FIN) or resets it (RST) mid-upload. */
	@ParameterizedTest
	@ValueSource(booleans = { false, true })
	void uploadCutByTheClientIsCountedOnceAsItsLeavingAndStopsTheCall(boolean reset, CapturedOutput output)
			throws Exception {
		int receivedBefore = upstream.received("/hang");
		int closedBefore = upstream.peerClosed("/hang");
		RawHttpClient client = new RawHttpClient(TestApps.port(app), Duration.ofSeconds(10));
		try {
			client.send("POST", "/upload", "Content-Type: application/octet-stream", "Content-Length: " + DECLARED);
			client.write(new byte[SENT]);
			upstream.awaitReceived("/hang", receivedBefore + 1);
			if (reset) {
				client.reset();
			}
		}
		finally {
			client.close();
		}
		upstream.awaitPeerClosed("/hang", closedBefore + 1);
		HangupMeters.awaitCounts(registry, HangupMetrics.SERVER_HANGUPS,
				Map.of("kind=CLIENT_CANCEL,method=POST,phase=BEFORE_RESPONSE,uri=/upload", 1L));
		HangupMeters.awaitClientHangups(registry, Map
			.of("kind=CLIENT_CANCEL,method=POST,phase=BEFORE_RESPONSE,upstream=127.0.0.1:" + upstream.port(), 1L));
		HangupMeters.awaitCounts(registry, "http.server.requests", Map.of("hangup=CLIENT_CANCEL", 1L), "hangup");
		HangupMeters.awaitCounts(registry, "http.client.requests", Map.of("hangup=CLIENT_CANCEL", 1L), "hangup");
		await().atMost(Duration.ofSeconds(10)).until(() -> app.getBean(OutboundCalls.class).inFlight() == 0);
		assertThat(output.getOut() + output.getErr()).doesNotContain("UPSTREAM_")
			.doesNotContain(" WARN ")
			.doesNotContain(" ERROR ");
	}

	/** Streams the upload to the upstream as it arrives. */
	@RestController
	static class UploadController {

		private final RestClient restClient;

		UploadController(RestClient.Builder restClients, Environment environment) {
			this.restClient = restClients.clone().baseUrl(environment.getRequiredProperty("test.upstream")).build();
		}

		@PostMapping("/upload")
		String upload(HttpServletRequest request) {
			return this.restClient.post()
				.uri("/hang")
				.body((out) -> transfer(request, out))
				.retrieve()
				.body(String.class);
		}

		private static void transfer(HttpServletRequest request, OutputStream out) throws IOException {
			request.getInputStream().transferTo(out);
		}

	}

}
