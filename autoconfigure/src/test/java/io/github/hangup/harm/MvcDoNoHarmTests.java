package io.github.hangup.harm;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;

import io.github.hangup.HangupObservations;
import io.github.hangup.metrics.HangupMetrics;
import io.github.hangup.support.FaultyUpstream;
import io.github.hangup.support.HangupMeters;
import io.github.hangup.support.ServletTestApps;
import io.github.hangup.support.TestApps;
import io.micrometer.core.instrument.MeterRegistry;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.servlet.http.HttpServletRequest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import org.springframework.boot.restclient.RestTemplateBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.core.env.Environment;
import org.springframework.core.task.SimpleAsyncTaskExecutor;
import org.springframework.http.HttpMethod;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.http.client.ClientHttpResponse;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.client.RestClient;
import org.springframework.web.client.RestClientException;
import org.springframework.web.client.RestClientResponseException;
import org.springframework.web.client.RestTemplate;
import org.springframework.web.context.request.async.DeferredResult;
import org.springframework.web.servlet.mvc.method.annotation.ResponseBodyEmitter;
import org.springframework.web.servlet.mvc.method.annotation.StreamingResponseBody;
import org.springframework.http.StreamingHttpOutputMessage;
import org.springframework.web.bind.annotation.PostMapping;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Do no harm on Spring MVC: one small MVC application on Tomcat (and on Jetty,
 * {@link MvcJettyDoNoHarmTests}) runs twice, with Hangup and with
 * {@code hangup.enabled=false}, in front of the same upstream, relaying with the
 * {@code RestClient} and {@code RestTemplate} Boot builds (on the JDK
 * {@code HttpClient}). Every scenario runs against both: the application without Hangup
 * is the reference, and the one with it must answer the same status and the same body
 * bytes. Healthy requests leave nothing on the hang-up meters and are recorded on
 * {@code http.server.requests} with {@code hangup=NONE}.
 */
class MvcDoNoHarmTests {

	private static final HttpClient http = HttpClient.newBuilder()
		.version(HttpClient.Version.HTTP_1_1)
		.connectTimeout(Duration.ofSeconds(5))
		.build();

	private static FaultyUpstream upstream;

	private static ConfigurableApplicationContext with;

	private static ConfigurableApplicationContext without;

	@BeforeAll
	static void start() throws Exception {
		upstream = new FaultyUpstream();
		with = ServletTestApps.start(RelayController.class, "test.upstream=" + upstream.baseUrl(),
				"spring.http.clients.imperative.factory=jdk");
		without = ServletTestApps.start(RelayController.class, "test.upstream=" + upstream.baseUrl(),
				"spring.http.clients.imperative.factory=jdk", "hangup.enabled=false");
	}

	@AfterAll
	static void stop() throws Exception {
		with.close();
		without.close();
		upstream.close();
	}

	@BeforeEach
	void clearMeters() {
		registry(with).clear();
		registry(without).clear();
	}

	@ParameterizedTest
	@CsvSource({ "rest-client,ok,200", "rest-template,ok,200", "rest-client,megabyte,200", "rest-template,megabyte,200",
			"rest-client,missing,404", "rest-template,missing,404", "rest-client,status-500,500",
			"rest-template,status-500,500" })
	void answerRelayedWholeIsTheSameWithAndWithoutHangup(String client, String path, int status) throws Exception {
		assertSameAnswer("/" + client + "/" + path, status, expectedBody(path));
		assertNoHangups("/" + client + "/{path}", status);
	}

	@ParameterizedTest
	@CsvSource({ "rest-client-stream,ok,200", "rest-template-stream,ok,200", "rest-client-stream,megabyte,200",
			"rest-template-stream,megabyte,200", "rest-client-stream,status-500,500",
			"rest-template-stream,status-500,500", "rest-client-srb,megabyte,200", "rest-template-srb,megabyte,200",
			"rest-client-srb,ok,200", "rest-template-srb,ok,200" })
	void answerStreamedPieceByPieceIsTheSameWithAndWithoutHangup(String route, String path, int status)
			throws Exception {
		assertSameAnswer("/" + route + "/" + path, status, expectedBody(path));
		assertNoHangups("/" + route + "/{path}", status);
	}

	/**
	 * Asynchronous requests that stay open for a second, while the container's connection
	 * is watched for a client leaving several times: a {@code DeferredResult} waiting on
	 * a slow upstream, and a {@code ResponseBodyEmitter} relaying its body as it comes.
	 */
	@ParameterizedTest
	@CsvSource({ "deferred,trickle,200", "deferred,ok,200", "emitter,trickle,200", "emitter,ok,200" })
	void asynchronousAnswerOpenForASecondIsTheSameWithAndWithoutHangup(String route, String path, int status)
			throws Exception {
		assertSameAnswer("/" + route + "/" + path, status, expectedBody(path));
		assertNoHangups("/" + route + "/{path}", status);
	}

	@ParameterizedTest
	@ValueSource(strings = { "rest-client", "rest-template" })
	void applicationsOwnFallbackOnAnUpstreamFailureIsTheSameWithAndWithoutHangup(String client) throws Exception {
		assertSameAnswer("/" + client + "-fallback/reset", 200, "fallback".getBytes(StandardCharsets.US_ASCII));
		// The call's hang-up is counted; the request, answered by the application, is not
		// one.
		HangupMeters.awaitClientHangups(registry(with), Map
			.of("kind=UPSTREAM_RESET,method=GET,phase=BEFORE_RESPONSE,upstream=127.0.0.1:" + upstream.port(), 1L));
		HangupMeters.awaitCounts(registry(with), HangupMetrics.SERVER_HANGUPS, Map.of());
		HangupMeters.awaitCounts(registry(with), "http.server.requests",
				Map.of("hangup=NONE,outcome=SUCCESS,status=200,uri=/" + client + "-fallback/{path}", 1L),
				HangupObservations.KEY, "outcome", "status", "uri");
	}

	/**
	 * An upload the application streams to the upstream as it arrives (the upstream
	 * echoes it): the same status and bytes with and without Hangup, whose request
	 * factory streams the body instead of buffering it.
	 */
	@ParameterizedTest
	@ValueSource(strings = { "rest-client", "rest-template" })
	void uploadStreamedToTheUpstreamIsTheSameWithAndWithoutHangup(String client) throws Exception {
		byte[] upload = FaultyUpstream.megabyte();
		String path = "/" + client + "-upload";
		HttpResponse<byte[]> reference = post(without, path, upload);
		HttpResponse<byte[]> answer = post(with, path, upload);
		assertThat(reference.statusCode()).isEqualTo(200);
		assertThat(reference.body()).isEqualTo(upload);
		assertThat(answer.statusCode()).isEqualTo(reference.statusCode());
		assertThat(answer.body()).isEqualTo(reference.body());
		HangupMeters.awaitCounts(registry(with), HangupMetrics.SERVER_HANGUPS, Map.of());
		HangupMeters.awaitClientHangups(registry(with), Map.of());
		HangupMeters.awaitCounts(registry(with), "http.server.requests",
				Map.of("hangup=NONE,outcome=SUCCESS,status=200,uri=" + path, 1L), HangupObservations.KEY, "outcome",
				"status", "uri");
	}

	private static void assertSameAnswer(String path, int status, byte[] body) throws Exception {
		HttpResponse<byte[]> reference = get(without, path);
		HttpResponse<byte[]> answer = get(with, path);
		assertThat(reference.statusCode()).isEqualTo(status);
		assertThat(reference.body()).isEqualTo(body);
		assertThat(answer.statusCode()).isEqualTo(reference.statusCode());
		assertThat(answer.body()).isEqualTo(reference.body());
	}

	private static void assertNoHangups(String uri, int status) {
		HangupMeters.awaitCounts(registry(with), HangupMetrics.SERVER_HANGUPS, Map.of());
		HangupMeters.awaitClientHangups(registry(with), Map.of());
		String outcome = (status < 400) ? "SUCCESS" : (status < 500) ? "CLIENT_ERROR" : "SERVER_ERROR";
		HangupMeters.awaitCounts(registry(with), "http.server.requests",
				Map.of("hangup=NONE,outcome=" + outcome + ",status=" + status + ",uri=" + uri, 1L),
				HangupObservations.KEY, "outcome", "status", "uri");
		HangupMeters.awaitCounts(registry(without), "http.server.requests",
				Map.of("outcome=" + outcome + ",status=" + status + ",uri=" + uri, 1L), "outcome", "status", "uri");
	}

	private static byte[] expectedBody(String path) {
		return switch (path) {
			case "ok" -> "hello".getBytes(StandardCharsets.US_ASCII);
			case "megabyte" -> FaultyUpstream.megabyte();
			case "status-500" -> "upstream failed".getBytes(StandardCharsets.US_ASCII);
			case "trickle" -> "x".repeat(FaultyUpstream.TRICKLE_CHUNKS).getBytes(StandardCharsets.US_ASCII);
			default -> new byte[0];
		};
	}

	private static HttpResponse<byte[]> get(ConfigurableApplicationContext app, String path) throws Exception {
		HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + TestApps.port(app) + path))
			.timeout(Duration.ofSeconds(20))
			.build();
		return http.send(request, HttpResponse.BodyHandlers.ofByteArray());
	}

	private static HttpResponse<byte[]> post(ConfigurableApplicationContext app, String path, byte[] body)
			throws Exception {
		HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + TestApps.port(app) + path))
			.timeout(Duration.ofSeconds(20))
			.header("Content-Type", "application/octet-stream")
			.POST(HttpRequest.BodyPublishers.ofByteArray(body))
			.build();
		return http.send(request, HttpResponse.BodyHandlers.ofByteArray());
	}

	private static MeterRegistry registry(ConfigurableApplicationContext app) {
		return app.getBean(MeterRegistry.class);
	}

	/**
	 * Relays to the upstream in the ways applications do: whole, piece by piece, from a
	 * {@code StreamingResponseBody}, and with a fallback of its own.
	 */
	@RestController
	static class RelayController {

		private final RestClient restClient;

		private final RestTemplate restTemplate;

		private final SimpleAsyncTaskExecutor executor = new SimpleAsyncTaskExecutor("relay-");

		RelayController(RestClient.Builder restClients, RestTemplateBuilder restTemplates, Environment environment) {
			String upstream = environment.getRequiredProperty("test.upstream");
			this.restClient = restClients.baseUrl(upstream).build();
			this.restTemplate = restTemplates.rootUri(upstream).build();
		}

		@GetMapping("/rest-client/{path}")
		ResponseEntity<byte[]> restClient(@PathVariable String path) {
			try {
				return ResponseEntity.ok(this.restClient.get().uri("/" + path).retrieve().body(byte[].class));
			}
			catch (RestClientResponseException ex) {
				// The upstream's error status and body are passed on.
				return ResponseEntity.status(ex.getStatusCode()).body(ex.getResponseBodyAsByteArray());
			}
		}

		@GetMapping("/rest-template/{path}")
		ResponseEntity<byte[]> restTemplate(@PathVariable String path) {
			try {
				return ResponseEntity.ok(this.restTemplate.getForObject("/" + path, byte[].class));
			}
			catch (RestClientResponseException ex) {
				return ResponseEntity.status(ex.getStatusCode()).body(ex.getResponseBodyAsByteArray());
			}
		}

		/** Streams the upload to the upstream as it arrives. */
		@PostMapping("/rest-client-upload")
		byte[] restClientUpload(HttpServletRequest request) {
			StreamingHttpOutputMessage.Body body = (out) -> request.getInputStream().transferTo(out);
			return this.restClient.post().uri("/echo").body(body).retrieve().body(byte[].class);
		}

		/** Streams the upload to the upstream as it arrives. */
		@PostMapping("/rest-template-upload")
		byte[] restTemplateUpload(HttpServletRequest request) {
			StreamingHttpOutputMessage.Body body = (out) -> request.getInputStream().transferTo(out);
			return this.restTemplate.execute("/echo", HttpMethod.POST,
					(upstreamRequest) -> ((StreamingHttpOutputMessage) upstreamRequest).setBody(body),
					(upstreamResponse) -> upstreamResponse.getBody().readAllBytes());
		}

		@GetMapping("/rest-client-stream/{path}")
		void restClientStream(@PathVariable String path, HttpServletResponse response) {
			this.restClient.get().uri("/" + path).exchange((request, upstreamResponse) -> {
				relay(upstreamResponse, response);
				return null;
			});
		}

		@GetMapping("/rest-template-stream/{path}")
		void restTemplateStream(@PathVariable String path, HttpServletResponse response) throws IOException {
			try {
				this.restTemplate.execute("/" + path, HttpMethod.GET, null, (upstreamResponse) -> {
					relay(upstreamResponse, response);
					return null;
				});
			}
			catch (RestClientResponseException ex) {
				// RestTemplate's error handler takes error statuses before the callback.
				response.setStatus(ex.getStatusCode().value());
				response.setContentType("application/octet-stream");
				response.getOutputStream().write(ex.getResponseBodyAsByteArray());
			}
		}

		@GetMapping("/rest-client-srb/{path}")
		StreamingResponseBody restClientSrb(@PathVariable String path) {
			return (out) -> this.restClient.get().uri("/" + path).exchange((request, upstreamResponse) -> {
				copy(upstreamResponse.getBody(), out);
				return null;
			});
		}

		@GetMapping("/rest-template-srb/{path}")
		StreamingResponseBody restTemplateSrb(@PathVariable String path) {
			return (out) -> this.restTemplate.execute("/" + path, HttpMethod.GET, null, (upstreamResponse) -> {
				copy(upstreamResponse.getBody(), out);
				return null;
			});
		}

		@GetMapping("/deferred/{path}")
		DeferredResult<byte[]> deferred(@PathVariable String path) {
			DeferredResult<byte[]> result = new DeferredResult<>();
			this.executor.execute(() -> {
				try {
					result.setResult(this.restClient.get().uri("/" + path).retrieve().body(byte[].class));
				}
				catch (RuntimeException ex) {
					result.setErrorResult(ex);
				}
			});
			return result;
		}

		@GetMapping("/emitter/{path}")
		ResponseBodyEmitter emitter(@PathVariable String path) {
			ResponseBodyEmitter emitter = new ResponseBodyEmitter();
			this.executor.execute(() -> {
				try {
					this.restClient.get().uri("/" + path).exchange((request, upstreamResponse) -> {
						byte[] buffer = new byte[8192];
						int read;
						InputStream body = upstreamResponse.getBody();
						while ((read = body.read(buffer)) != -1) {
							emitter.send(Arrays.copyOf(buffer, read), MediaType.APPLICATION_OCTET_STREAM);
						}
						return null;
					});
					emitter.complete();
				}
				catch (RuntimeException ex) {
					emitter.completeWithError(ex);
				}
			});
			return emitter;
		}

		@GetMapping("/rest-client-fallback/{path}")
		String restClientFallback(@PathVariable String path) {
			try {
				return this.restClient.get().uri("/" + path).retrieve().body(String.class);
			}
			catch (RestClientException ex) {
				return "fallback";
			}
		}

		@GetMapping("/rest-template-fallback/{path}")
		String restTemplateFallback(@PathVariable String path) {
			try {
				return this.restTemplate.getForObject("/" + path, String.class);
			}
			catch (RestClientException ex) {
				return "fallback";
			}
		}

		private static void relay(ClientHttpResponse upstreamResponse, HttpServletResponse response)
				throws IOException {
			response.setStatus(upstreamResponse.getStatusCode().value());
			response.setContentType("application/octet-stream");
			copy(upstreamResponse.getBody(), response.getOutputStream());
		}

		/** Each piece of the body is sent on as it arrives. */
		private static void copy(InputStream body, OutputStream out) throws IOException {
			byte[] buffer = new byte[8192];
			int read;
			while ((read = body.read(buffer)) != -1) {
				out.write(buffer, 0, read);
				out.flush();
			}
		}

	}

}
