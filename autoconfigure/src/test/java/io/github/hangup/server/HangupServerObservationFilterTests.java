package io.github.hangup.server;

import java.util.HashMap;
import java.util.Map;

import io.github.hangup.HangupKind;
import io.github.hangup.HangupPhase;
import io.github.hangup.HangupObservations;
import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationRegistry;
import io.micrometer.observation.tck.TestObservationRegistry;
import io.micrometer.observation.tck.TestObservationRegistryAssert;
import io.micrometer.tracing.handler.DefaultTracingObservationHandler;
import io.micrometer.tracing.test.simple.SimpleSpan;
import io.micrometer.tracing.test.simple.SimpleTracer;
import org.junit.jupiter.api.Test;

import org.springframework.http.HttpStatus;
import org.springframework.http.server.reactive.observation.ServerRequestObservationContext;
import org.springframework.mock.http.server.reactive.MockServerHttpRequest;
import org.springframework.mock.http.server.reactive.MockServerHttpResponse;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The {@code hangup} key, the client-closed status and the span event on server
 * observations.
 */
class HangupServerObservationFilterTests {

	@Test
	void requestThatDidNotHangUpIsTaggedNone() {
		TestObservationRegistry registry = registry(null);
		observe(registry, new InboundScope(), false);
		TestObservationRegistryAssert.assertThat(registry)
			.hasObservationWithNameEqualTo("http.server.requests")
			.that()
			.hasLowCardinalityKeyValue(HangupObservations.KEY, HangupObservations.NONE);
	}

	@Test
	void upstreamHangupIsTaggedWithItsKind() {
		TestObservationRegistry registry = registry(null);
		InboundScope scope = new InboundScope();
		scope.recorded(HangupKind.UPSTREAM_TIMEOUT, HangupPhase.BEFORE_RESPONSE);
		observe(registry, scope, false);
		TestObservationRegistryAssert.assertThat(registry)
			.hasObservationWithNameEqualTo("http.server.requests")
			.that()
			.hasLowCardinalityKeyValue(HangupObservations.KEY, "UPSTREAM_TIMEOUT");
	}

	@Test
	void abortedConnectionOfARunningRequestIsAClientCancelWithTheConfiguredStatus() {
		TestObservationRegistry registry = registry(499);
		observe(registry, new InboundScope(), true);
		TestObservationRegistryAssert.assertThat(registry)
			.hasObservationWithNameEqualTo("http.server.requests")
			.that()
			.hasLowCardinalityKeyValue(HangupObservations.KEY, "CLIENT_CANCEL")
			.hasLowCardinalityKeyValue("status", "499")
			.hasLowCardinalityKeyValue("outcome", "CLIENT_ERROR");
	}

	@Test
	void abortAfterTheRequestCompletedKeepsTheStatusSent() {
		TestObservationRegistry registry = registry(499);
		InboundScope scope = new InboundScope();
		scope.close();
		observe(registry, scope, true);
		TestObservationRegistryAssert.assertThat(registry)
			.hasObservationWithNameEqualTo("http.server.requests")
			.that()
			.hasLowCardinalityKeyValue(HangupObservations.KEY, HangupObservations.NONE)
			.hasLowCardinalityKeyValue("status", "200")
			.hasLowCardinalityKeyValue("outcome", "SUCCESS");
	}

	/**
	 * The tracing handler copies every low-cardinality key onto the span when the
	 * observation stops, so the tag comes from the {@code hangup} key; the event is the
	 * filter's own. Each comes out once: the kind under one tag key and in one event.
	 */
	@Test
	void tracedHangupGetsItsTagAndItsEventExactlyOnce() {
		SimpleTracer tracer = new SimpleTracer();
		ObservationRegistry registry = ObservationRegistry.create();
		registry.observationConfig()
			.observationHandler(new DefaultTracingObservationHandler(tracer))
			.observationFilter(new HangupServerObservationFilter(null));
		InboundScope scope = new InboundScope();
		scope.recorded(HangupKind.UPSTREAM_RESET, HangupPhase.BEFORE_RESPONSE);
		observe(registry, scope, false);
		SimpleSpan span = tracer.onlySpan();
		assertThat(span.getTags().entrySet()).filteredOn((tag) -> tag.getValue().contains("UPSTREAM_RESET"))
			.containsExactly(Map.entry(HangupObservations.KEY, "UPSTREAM_RESET"));
		assertThat(span.getEvents()).extracting(Map.Entry::getValue).containsExactly("hangup UPSTREAM_RESET");
	}

	@Test
	void tracedRequestThatDidNotHangUpHasNoEvent() {
		SimpleTracer tracer = new SimpleTracer();
		ObservationRegistry registry = ObservationRegistry.create();
		registry.observationConfig()
			.observationHandler(new DefaultTracingObservationHandler(tracer))
			.observationFilter(new HangupServerObservationFilter(null));
		observe(registry, new InboundScope(), false);
		SimpleSpan span = tracer.onlySpan();
		assertThat(span.getTags()).containsEntry(HangupObservations.KEY, HangupObservations.NONE);
		assertThat(span.getEvents()).isEmpty();
	}

	private static TestObservationRegistry registry(Integer clientClosedStatus) {
		TestObservationRegistry registry = TestObservationRegistry.create();
		registry.observationConfig().observationFilter(new HangupServerObservationFilter(clientClosedStatus));
		return registry;
	}

	private static void observe(ObservationRegistry registry, InboundScope scope, boolean aborted) {
		Map<String, Object> attributes = new HashMap<>();
		attributes.put(InboundScope.ATTRIBUTE, scope);
		MockServerHttpResponse response = new MockServerHttpResponse();
		response.setStatusCode(HttpStatus.OK);
		ServerRequestObservationContext context = new ServerRequestObservationContext(
				MockServerHttpRequest.get("/items/1").build(), response, attributes);
		context.setConnectionAborted(aborted);
		Observation.createNotStarted("http.server.requests", () -> context, registry).start().stop();
	}

}
