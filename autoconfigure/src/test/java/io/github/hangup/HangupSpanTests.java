package io.github.hangup;

import java.net.URI;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import io.github.hangup.client.HangupClientObservationFilter;
import io.github.hangup.server.HangupServerObservationFilter;
import io.github.hangup.server.InboundScope;
import io.github.hangup.server.TestScopes;
import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationRegistry;
import io.micrometer.tracing.Span;
import io.micrometer.tracing.TraceContext;
import io.micrometer.tracing.handler.PropagatingReceiverTracingObservationHandler;
import io.micrometer.tracing.handler.PropagatingSenderTracingObservationHandler;
import io.micrometer.tracing.propagation.Propagator;
import io.micrometer.tracing.test.simple.SimpleTracer;
import org.junit.jupiter.api.Test;

import org.springframework.http.HttpMethod;
import org.springframework.http.server.reactive.observation.ServerRequestObservationContext;
import org.springframework.mock.http.server.reactive.MockServerHttpRequest;
import org.springframework.mock.http.server.reactive.MockServerHttpResponse;
import org.springframework.web.reactive.function.client.ClientRequest;
import org.springframework.web.reactive.function.client.ClientRequestObservationContext;

import static io.micrometer.tracing.test.simple.TracingAssertions.assertThat;

/**
 * The {@code hangup} tag on the spans of HTTP server and client observations, traced by
 * the handlers Spring Boot registers for them: the tag is the observation's
 * {@code hangup} key, which the handlers copy onto the span when the observation stops.
 */
class HangupSpanTests {

	private final SimpleTracer tracer = new SimpleTracer();

	@Test
	void serverSpanOfAHungUpRequestCarriesTheHangupTagAndEvent() {
		ObservationRegistry registry = ObservationRegistry.create();
		registry.observationConfig()
			.observationHandler(
					new PropagatingReceiverTracingObservationHandler<>(this.tracer, new LocalPropagator(this.tracer)))
			.observationFilter(new HangupServerObservationFilter(null));
		InboundScope scope = new InboundScope();
		TestScopes.recorded(scope, HangupKind.UPSTREAM_TIMEOUT);
		Map<String, Object> attributes = new HashMap<>();
		attributes.put(InboundScope.ATTRIBUTE, scope);
		ServerRequestObservationContext context = new ServerRequestObservationContext(
				MockServerHttpRequest.get("/items/1").build(), new MockServerHttpResponse(), attributes);
		Observation.createNotStarted("http.server.requests", () -> context, registry).start().stop();
		assertThat(this.tracer).onlySpan()
			.hasTag(HangupObservations.KEY, "UPSTREAM_TIMEOUT")
			.hasEventWithNameEqualTo("hangup UPSTREAM_TIMEOUT");
	}

	@Test
	void clientSpanOfAHungUpCallCarriesTheHangupTagAndEvent() {
		ObservationRegistry registry = ObservationRegistry.create();
		registry.observationConfig()
			.observationHandler(
					new PropagatingSenderTracingObservationHandler<>(this.tracer, new LocalPropagator(this.tracer)))
			.observationFilter(new HangupClientObservationFilter(new DefaultHangupClassifier()));
		ClientRequestObservationContext context = new ClientRequestObservationContext(
				ClientRequest.create(HttpMethod.GET, URI.create("http://catalog/items")));
		Observation observation = Observation.createNotStarted("http.client.requests", () -> context, registry).start();
		observation.error(UpstreamHangupException.of(HangupKind.UPSTREAM_RESET, HangupPhase.BEFORE_RESPONSE, "GET",
				"catalog:80", null));
		observation.stop();
		assertThat(this.tracer).onlySpan()
			.hasTag(HangupObservations.KEY, "UPSTREAM_RESET")
			.hasEventWithNameEqualTo("hangup UPSTREAM_RESET");
	}

	/**
	 * Starts every span as a new trace and propagates nothing: the spans, not the
	 * headers, are under test.
	 */
	static final class LocalPropagator implements Propagator {

		private final SimpleTracer tracer;

		LocalPropagator(SimpleTracer tracer) {
			this.tracer = tracer;
		}

		@Override
		public List<String> fields() {
			return List.of();
		}

		@Override
		public <C> void inject(TraceContext context, C carrier, Setter<C> setter) {
		}

		@Override
		public <C> Span.Builder extract(C carrier, Getter<C> getter) {
			return this.tracer.spanBuilder();
		}

	}

}
