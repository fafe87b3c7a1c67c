package io.github.hangup.server;

import java.util.List;
import java.util.Map;

import io.github.hangup.DefaultHangupClassifier;
import io.github.hangup.HangupKind;
import io.github.hangup.HangupPhase;
import io.github.hangup.HangupRecorder;
import io.github.hangup.UpstreamHangupException;
import org.junit.jupiter.api.Test;
import org.skyscreamer.jsonassert.JSONAssert;
import org.skyscreamer.jsonassert.JSONCompareMode;
import reactor.test.StepVerifier;

import org.springframework.http.MediaType;
import org.springframework.http.codec.ServerCodecConfigurer;
import org.springframework.mock.http.server.reactive.MockServerHttpRequest;
import org.springframework.mock.web.server.MockServerWebExchange;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Status mapping and problem bodies of {@link HangupWebExceptionHandler}: a pure unit
 * over a mock exchange.
 */
class HangupWebExceptionHandlerTests {

	private final DefaultHangupClassifier classifier = new DefaultHangupClassifier();

	@Test
	void configuredStatusReplacesTheDefaultAndNamesItsReasonPhrase() throws Exception {
		HangupWebExceptionHandler handler = new HangupWebExceptionHandler(this.classifier, HangupRecorder.of(),
				Map.of(HangupKind.UPSTREAM_RESET, 503));
		MockServerWebExchange exchange = MockServerWebExchange.from(MockServerHttpRequest.get("/x"));
		exchange.getResponse().getHeaders().setContentLength(1000);
		StepVerifier
			.create(handler.handle(exchange, UpstreamHangupException.of(HangupKind.UPSTREAM_RESET,
					HangupPhase.BEFORE_RESPONSE, "GET", "10.1.2.3:8080", new IllegalStateException("secret"))))
			.verifyComplete();
		assertThat(exchange.getResponse().getStatusCode().value()).isEqualTo(503);
		assertThat(exchange.getResponse().getHeaders().getContentType()).isEqualTo(MediaType.APPLICATION_PROBLEM_JSON);
		String body = exchange.getResponse().getBodyAsString().block();
		assertThat(exchange.getResponse().getHeaders().getContentLength()).isEqualTo(body.length());
		// The fields and values answered since 0.1.0; their order is the JSON mapper's.
		JSONAssert.assertEquals("{\"type\":\"about:blank\",\"title\":\"Service Unavailable\",\"status\":503,"
				+ "\"detail\":\"The upstream service closed the connection before completing its response.\","
				+ "\"hangup\":\"UPSTREAM_RESET\"}", body, JSONCompareMode.STRICT);
		assertThat(body).doesNotContain("10.1.2.3").doesNotContain("secret");
	}

	@Test
	void defaultStatusesAre504ForTimeoutsAnd502Otherwise() {
		HangupWebExceptionHandler handler = new HangupWebExceptionHandler(this.classifier, HangupRecorder.of(),
				Map.of());
		assertThat(answer(handler, HangupKind.UPSTREAM_TIMEOUT)).isEqualTo(504);
		assertThat(answer(handler, HangupKind.UPSTREAM_RESET)).isEqualTo(502);
		assertThat(answer(handler, HangupKind.UPSTREAM_UNREACHABLE)).isEqualTo(502);
	}

	@Test
	void otherErrorsPassThrough() {
		HangupWebExceptionHandler handler = new HangupWebExceptionHandler(this.classifier, HangupRecorder.of(),
				Map.of());
		MockServerWebExchange exchange = MockServerWebExchange.from(MockServerHttpRequest.get("/x"));
		IllegalStateException error = new IllegalStateException("not a hang-up");
		StepVerifier.create(handler.handle(exchange, error))
			.verifyErrorSatisfies((ex) -> assertThat(ex).isSameAs(error));
	}

	@Test
	void statusSetByACustomizerIsPutBackSoTheBodyAgreesWithTheAnswer() throws Exception {
		HangupWebExceptionHandler handler = handler((problem, kind, exchange) -> problem.setStatus(418));
		MockServerWebExchange exchange = exchange();
		handler.handle(exchange, reset()).block();
		assertThat(exchange.getResponse().getStatusCode().value()).isEqualTo(502);
		JSONAssert.assertEquals("{\"status\":502}", exchange.getResponse().getBodyAsString().block(),
				JSONCompareMode.LENIENT);
	}

	@Test
	void failingCustomizerLeavesTheDefaultProblemAndTheStatus() throws Exception {
		HangupWebExceptionHandler handler = handler((problem, kind, exchange) -> problem.setProperty("half", "done"),
				(problem, kind, exchange) -> {
					throw new IllegalStateException("customizer bug");
				});
		MockServerWebExchange exchange = exchange();
		StepVerifier.create(handler.handle(exchange, reset())).verifyComplete();
		assertThat(exchange.getResponse().getStatusCode().value()).isEqualTo(502);
		String body = exchange.getResponse().getBodyAsString().block();
		JSONAssert.assertEquals("{\"type\":\"about:blank\",\"title\":\"Bad Gateway\",\"status\":502,"
				+ "\"detail\":\"The upstream service closed the connection before completing its response.\","
				+ "\"hangup\":\"UPSTREAM_RESET\"}", body, JSONCompareMode.STRICT);
	}

	@Test
	void withoutAProblemWriterTheStatusIsAnsweredWithAnEmptyBody() {
		HangupWebExceptionHandler handler = new HangupWebExceptionHandler(this.classifier, HangupRecorder.of(),
				Map.of(), List.of(), List.of());
		MockServerWebExchange exchange = exchange();
		StepVerifier.create(handler.handle(exchange, reset())).verifyComplete();
		assertThat(exchange.getResponse().getStatusCode().value()).isEqualTo(502);
		assertThat(exchange.getResponse().getHeaders().getContentLength()).isZero();
		assertThat(exchange.getResponse().getBodyAsString().block()).isEmpty();
	}

	private HangupWebExceptionHandler handler(HangupProblemDetailCustomizer... customizers) {
		return new HangupWebExceptionHandler(this.classifier, HangupRecorder.of(), Map.of(),
				ServerCodecConfigurer.create().getWriters(), List.of(customizers));
	}

	private static MockServerWebExchange exchange() {
		return MockServerWebExchange.from(MockServerHttpRequest.get("/x"));
	}

	private static UpstreamHangupException reset() {
		return UpstreamHangupException.of(HangupKind.UPSTREAM_RESET, HangupPhase.BEFORE_RESPONSE, "GET",
				"10.1.2.3:8080", new IllegalStateException("secret"));
	}

	private static int answer(HangupWebExceptionHandler handler, HangupKind kind) {
		MockServerWebExchange exchange = MockServerWebExchange.from(MockServerHttpRequest.get("/x"));
		handler.handle(exchange, UpstreamHangupException.of(kind, HangupPhase.BEFORE_RESPONSE, "GET", "u:1", null))
			.block();
		return exchange.getResponse().getStatusCode().value();
	}

}
