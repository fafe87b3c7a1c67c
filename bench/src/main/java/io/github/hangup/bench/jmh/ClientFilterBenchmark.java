package io.github.hangup.bench.jmh;

import java.net.URI;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;

import io.github.hangup.DefaultHangupClassifier;
import io.github.hangup.HangupRecorder;
import io.github.hangup.server.InboundScope;
import io.github.hangup.client.HangupExchangeFilterFunction;
import io.github.hangup.metrics.MicrometerHangupListener;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.core.io.buffer.DataBufferUtils;
import org.springframework.core.io.buffer.DefaultDataBufferFactory;
import org.springframework.http.HttpMethod;
import org.springframework.http.HttpStatus;
import org.springframework.web.reactive.function.client.ClientRequest;
import org.springframework.web.reactive.function.client.ClientResponse;
import org.springframework.web.reactive.function.client.ExchangeFunction;

/**
 * One healthy outbound exchange, its small body consumed fully, through the Hangup filter
 * (outside any inbound request, and inside one as a proxy runs it) and without it. The
 * exchange function is a stub that answers at once, so the difference is the filter's
 * cost.
 * <p>
 * No response timeout: with Reactor Netty it is one task on the connection's event loop,
 * scheduled when the request is written, and the stub writes no request. With a timeout,
 * the stub would measure the fallback for other connectors, a Reactor timer on the body,
 * instead. The load benchmark measures the timeout with the rest of a proxied request.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class ClientFilterBenchmark {

	private static final byte[] BODY = new byte[64];

	static {
		Arrays.fill(BODY, (byte) 'x');
	}

	private final HangupExchangeFilterFunction filter = HangupExchangeFilterFunction
		.builder(new DefaultHangupClassifier(),
				HangupRecorder.of(new MicrometerHangupListener(new SimpleMeterRegistry(), 100)))
		.responseTimeout(Duration.ZERO)
		.build();

	private final ClientRequest request = ClientRequest.create(HttpMethod.GET, URI.create("http://upstream:8080/items"))
		.build();

	private final ExchangeFunction next = (request) -> Mono.fromSupplier(() -> ClientResponse.create(HttpStatus.OK)
		.header("Content-Type", "application/octet-stream")
		.body(Flux.just(DefaultDataBufferFactory.sharedInstance.wrap(BODY)))
		.build());

	@Benchmark
	public long withoutFilter() {
		return consume(this.next.exchange(this.request));
	}

	@Benchmark
	public long withFilter() {
		return consume(this.filter.filter(this.request, this.next));
	}

	@Benchmark
	public long withFilterInInboundScope() {
		// The call joins the scope and, its body read, leaves it: what each call of a
		// request costs.
		InboundScope scope = new InboundScope();
		return consume(this.filter.filter(this.request, this.next)
			.contextWrite((context) -> context.put(InboundScope.CONTEXT_KEY, scope)));
	}

	private static long consume(Mono<ClientResponse> exchange) {
		return exchange.flatMap((response) -> response.bodyToFlux(DataBuffer.class).map((buffer) -> {
			int length = buffer.readableByteCount();
			DataBufferUtils.release(buffer);
			return (long) length;
		}).reduce(0L, Long::sum)).block();
	}

}
