package io.github.hangup.bench.jmh;

import java.util.HashMap;
import java.util.concurrent.TimeUnit;

import io.github.hangup.server.HangupServerObservationFilter;
import io.micrometer.core.instrument.observation.DefaultMeterObservationHandler;
import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;

import org.springframework.http.HttpStatus;
import org.springframework.http.server.reactive.observation.DefaultServerRequestObservationConvention;
import org.springframework.http.server.reactive.observation.ServerHttpObservationDocumentation;
import org.springframework.http.server.reactive.observation.ServerRequestObservationContext;
import org.springframework.mock.http.server.reactive.MockServerHttpRequest;
import org.springframework.mock.http.server.reactive.MockServerHttpResponse;

/**
 * One healthy {@code http.server.requests} observation, started and stopped as WebFlux
 * does and recorded in a Prometheus registry, with the {@code hangup} key added and
 * without it. The request and response are built outside the measured operation, so the
 * difference is the key's cost: the filter and one more tag on every timer recorded.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class ObservationBenchmark {

	private static final DefaultServerRequestObservationConvention CONVENTION = new DefaultServerRequestObservationConvention();

	private final ObservationRegistry plain = registry(false);

	private final ObservationRegistry keyed = registry(true);

	private final MockServerHttpRequest request = MockServerHttpRequest.get("/items/42").build();

	private final MockServerHttpResponse response = new MockServerHttpResponse();

	{
		this.response.setStatusCode(HttpStatus.OK);
	}

	private static ObservationRegistry registry(boolean hangupKey) {
		ObservationRegistry registry = ObservationRegistry.create();
		registry.observationConfig()
			.observationHandler(
					new DefaultMeterObservationHandler(new PrometheusMeterRegistry(PrometheusConfig.DEFAULT)));
		if (hangupKey) {
			registry.observationConfig().observationFilter(new HangupServerObservationFilter(null));
		}
		return registry;
	}

	private Observation.Context observe(ObservationRegistry registry) {
		ServerRequestObservationContext context = new ServerRequestObservationContext(this.request, this.response,
				new HashMap<>());
		Observation observation = ServerHttpObservationDocumentation.HTTP_REACTIVE_SERVER_REQUESTS
			.observation(null, CONVENTION, () -> context, registry)
			.start();
		observation.stop();
		return context;
	}

	@Benchmark
	public Observation.Context withoutKey() {
		return observe(this.plain);
	}

	@Benchmark
	public Observation.Context withKey() {
		return observe(this.keyed);
	}

}
