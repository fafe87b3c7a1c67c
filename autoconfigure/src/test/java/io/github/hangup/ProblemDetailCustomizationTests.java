package io.github.hangup;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;

import io.github.hangup.server.HangupProblemDetailCustomizer;
import io.github.hangup.support.FaultyUpstream;
import io.github.hangup.support.ProxyUnderTest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import reactor.core.publisher.Mono;
import tools.jackson.databind.json.JsonMapper;

import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Import;
import org.springframework.core.annotation.Order;
import org.springframework.core.env.Environment;
import org.springframework.http.CacheControl;
import org.springframework.http.MediaType;
import org.springframework.test.json.JsonCompareMode;
import org.springframework.test.web.reactive.server.WebTestClient;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.reactive.function.client.WebClient;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Problem bodies of a real application with {@link HangupProblemDetailCustomizer} beans:
 * customized the way the application says, written by its own codecs, and still naming no
 * upstream, address or error.
 */
class ProblemDetailCustomizationTests {

	private static final JsonMapper json = JsonMapper.builder().build();

	private static ProxyUnderTest app;

	private static int refusedPort;

	private static WebTestClient client;

	@BeforeAll
	static void start() throws Exception {
		refusedPort = FaultyUpstream.refusedPort();
		// Indented output is the application's JSON mapper at work, not a mapper of
		// Hangup's.
		app = ProxyUnderTest.start(ItemsController.class, "test.refused-port=" + refusedPort,
				"spring.jackson.serialization.indent-output=true");
		client = WebTestClient.bindToServer()
			.baseUrl("http://127.0.0.1:" + app.port())
			.responseTimeout(Duration.ofSeconds(10))
			.build();
	}

	@AfterAll
	static void stop() throws Exception {
		app.close();
	}

	@Test
	void customizerAddsAFieldAndChangesTheTypeAndDetailOfTheProblem() {
		byte[] body = client.get()
			.uri("/items/reset")
			.exchange()
			.expectStatus()
			.isEqualTo(502)
			.expectHeader()
			.contentType(MediaType.APPLICATION_PROBLEM_JSON)
			.expectHeader()
			.cacheControl(CacheControl.noStore())
			.expectBody()
			.json("""
					{"type": "https://errors.example.com/upstream_reset", "title": "Bad Gateway", "status": 502,
					 "detail": "The catalog is unavailable; try again shortly.", "hangup": "UPSTREAM_RESET",
					 "support": "https://status.example.com"}
					""", JsonCompareMode.STRICT)
			.returnResult()
			.getResponseBodyContent();
		assertThat(new String(body, StandardCharsets.UTF_8)).contains("\n  \"");
	}

	@ParameterizedTest(name = "{0}")
	@ValueSource(strings = { "/items/reset", "/items/malformed/half-header-then-close", "/refused" })
	void customizedProblemNamesNoUpstreamAddressOrErrorAndKeepsNothingFromAnotherRequest(String path) throws Exception {
		// One request's customization is its own: the next answer is made afresh.
		assertThat(fields(bodyOf(path, "T-1234"))).containsEntry("ticket", "T-1234");
		String body = bodyOf(path, null);
		assertThat(fields(body)).containsOnlyKeys("type", "title", "status", "detail", "hangup", "support");
		assertThat(body).doesNotContain("127.0.0.1")
			.doesNotContain("localhost")
			.doesNotContain(String.valueOf(app.upstream().port()))
			.doesNotContain(String.valueOf(refusedPort))
			.doesNotContainIgnoringCase("exception")
			.doesNotContain("Content-Ty")
			.doesNotContain("\tat ")
			.doesNotContain("T-1234");
	}

	private static String bodyOf(String path, String ticket) {
		return client.get().uri(path).headers((headers) -> {
			if (ticket != null) {
				headers.set("X-Ticket", ticket);
			}
		})
			.exchange()
			.expectHeader()
			.contentType(MediaType.APPLICATION_PROBLEM_JSON)
			.expectBody(String.class)
			.returnResult()
			.getResponseBody();
	}

	@SuppressWarnings("unchecked")
	private static Map<String, Object> fields(String body) {
		return json.readValue(body, Map.class);
	}

	/**
	 * Calls the upstream for {@code /items/**} and a port where nothing listens for
	 * {@code /refused}, and imports the customizers.
	 */
	@RestController
	@Import(Customizers.class)
	static class ItemsController {

		private final WebClient upstream;

		private final WebClient refused;

		ItemsController(WebClient.Builder builder, Environment environment) {
			this.upstream = ProxyUnderTest.upstreamClient(builder, environment);
			this.refused = builder.clone()
				.baseUrl("http://127.0.0.1:" + environment.getRequiredProperty("test.refused-port"))
				.build();
		}

		@GetMapping("/items/{*path}")
		Mono<String> item(@PathVariable String path) {
			return this.upstream.get().uri(path).retrieve().bodyToMono(String.class);
		}

		@GetMapping("/refused")
		Mono<String> refused() {
			return this.refused.get().uri("/items").retrieve().bodyToMono(String.class);
		}

	}

	/**
	 * What an application would write: a type and detail of its own, a link for support,
	 * and a ticket from the request when it has one.
	 */
	@Configuration(proxyBeanMethods = false)
	static class Customizers {

		@Bean
		@Order(1)
		HangupProblemDetailCustomizer typeAndDetail() {
			return (problem, kind, exchange) -> {
				problem.setType(URI.create("https://errors.example.com/" + kind.name().toLowerCase(Locale.ROOT)));
				problem.setDetail("The catalog is unavailable; try again shortly.");
			};
		}

		@Bean
		@Order(2)
		HangupProblemDetailCustomizer supportAndTicket() {
			return (problem, kind, exchange) -> {
				problem.setProperty("support", "https://status.example.com");
				String ticket = exchange.getRequest().getHeaders().getFirst("X-Ticket");
				if (ticket != null) {
					problem.setProperty("ticket", ticket);
				}
			};
		}

	}

}
