package io.github.hangup;

import java.time.Duration;
import java.util.Random;
import java.util.Set;
import java.util.stream.Collectors;

import io.github.hangup.actuate.HangupHistory;
import io.github.hangup.actuate.RecordedHangup;
import io.github.hangup.metrics.HangupMetrics;
import io.github.hangup.support.ProxyUnderTest;
import io.github.hangup.support.RawHttpClient;
import io.micrometer.core.instrument.Meter;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import reactor.core.publisher.Mono;

import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.core.env.Environment;
import org.springframework.http.ResponseEntity;
import org.springframework.http.server.reactive.ServerHttpRequest;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.reactive.function.client.WebClient;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A proxy forwards whatever method its client sends: random methods must not grow the
 * series of Boot's HTTP meters or Hangup's, nor reach log lines and events.
 */
@ExtendWith(OutputCaptureExtension.class)
class HostileMethodTests {

	private static final int METHODS = 300;

	private ProxyUnderTest app;

	@BeforeEach
	void start() throws Exception {
		this.app = ProxyUnderTest.start(RelayController.class, "management.endpoints.web.exposure.include=hangups");
	}

	@AfterEach
	void stop() throws Exception {
		this.app.close();
	}

	@Test
	void randomMethodsAreRecordedAsOther(CapturedOutput output) throws Exception {
		Random random = new Random(42);
		for (int i = 0; i < METHODS; i++) {
			String method = randomMethod(random);
			try (RawHttpClient client = new RawHttpClient(this.app.port(), Duration.ofSeconds(10))) {
				assertThat(client.send(method, "/relay").readHead().status()).isEqualTo(502);
			}
		}
		await().atMost(Duration.ofSeconds(10))
			.until(() -> this.app.registry()
				.find(HangupMetrics.SERVER_HANGUPS)
				.timers()
				.stream()
				.mapToLong((timer) -> timer.count())
				.sum() == METHODS);
		for (String meter : new String[] { "http.server.requests", "http.client.requests", HangupMetrics.SERVER_HANGUPS,
				HangupMetrics.CLIENT_HANGUPS }) {
			Set<String> methods = this.app.registry()
				.find(meter)
				.meters()
				.stream()
				.map((each) -> each.getId().getTag("method"))
				.collect(Collectors.toSet());
			assertThat(methods).as(meter).containsExactly("OTHER");
			assertThat(this.app.registry().find(meter).meters()).as(meter)
				.hasSizeLessThanOrEqualTo(2)
				.allSatisfy((Meter each) -> assertThat(each.getId().getTags()).isNotEmpty());
		}
		assertThat(output.getOut().lines().filter((line) -> line.contains("Hang-up "))).hasSize(METHODS)
			.allSatisfy((line) -> assertThat(line).contains("method=OTHER "));
		assertThat(this.app.proxy().getBean(HangupHistory.class).recent()).extracting(RecordedHangup::method)
			.containsOnly("OTHER");
	}

	private static String randomMethod(Random random) {
		StringBuilder method = new StringBuilder();
		for (int i = 0; i < 40; i++) {
			method.append((char) ('A' + random.nextInt(26)));
		}
		return method.toString();
	}

	/**
	 * Forwards the request's method to an upstream that closes without answering.
	 */
	@RestController
	static class RelayController {

		private final WebClient webClient;

		RelayController(WebClient.Builder builder, Environment environment) {
			this.webClient = ProxyUnderTest.upstreamClient(builder, environment);
		}

		@RequestMapping("/relay")
		Mono<ResponseEntity<String>> relay(ServerHttpRequest request) {
			return this.webClient.method(request.getMethod()).uri("/close").retrieve().toEntity(String.class);
		}

	}

}
