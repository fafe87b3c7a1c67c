package io.github.hangup.servlet;

import java.time.Duration;
import java.util.Map;

import io.github.hangup.DefaultHangupClassifier;
import io.github.hangup.HangupKind;
import io.github.hangup.HangupPhase;
import io.github.hangup.HangupProblemDetails;
import io.github.hangup.HangupRecorder;
import io.github.hangup.UpstreamHangupException;
import io.github.hangup.server.HangupWebExceptionHandler;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import tools.jackson.databind.json.JsonMapper;

import org.springframework.http.ProblemDetail;
import org.springframework.mock.http.server.reactive.MockServerHttpRequest;
import org.springframework.mock.web.server.MockServerWebExchange;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The Servlet side answers the problem the WebFlux side answers, field for field: both
 * start from {@link HangupProblemDetails}, and this keeps the WebFlux handler's own copy
 * in step.
 */
class ProblemDetailParityTests {

	@ParameterizedTest
	@EnumSource(value = HangupKind.class, names = "UPSTREAM_.*", mode = EnumSource.Mode.MATCH_ALL)
	void defaultProblemOfEachUpstreamKindIsTheOneWebFluxAnswers(HangupKind kind) {
		HangupWebExceptionHandler webFlux = new HangupWebExceptionHandler(new DefaultHangupClassifier(),
				HangupRecorder.of(), Map.of());
		MockServerWebExchange exchange = MockServerWebExchange.from(MockServerHttpRequest.get("/"));
		webFlux
			.handle(exchange,
					UpstreamHangupException.of(kind, HangupPhase.BEFORE_RESPONSE, "GET", "catalog:8080", null))
			.block(Duration.ofSeconds(5));
		String body = exchange.getResponse().getBodyAsString().block(Duration.ofSeconds(5));
		@SuppressWarnings("unchecked")
		Map<String, Object> answered = JsonMapper.builder().build().readValue(body, Map.class);
		ProblemDetail problem = HangupProblemDetails.of(kind, kind.defaultStatus());
		assertThat(answered).containsOnlyKeys("type", "title", "status", "detail", "hangup")
			.containsEntry("type", problem.getType().toString())
			.containsEntry("title", problem.getTitle())
			.containsEntry("status", problem.getStatus())
			.containsEntry("detail", problem.getDetail())
			.containsEntry("hangup", kind.name());
		assertThat(problem.getProperties()).containsOnlyKeys("hangup");
	}

}
