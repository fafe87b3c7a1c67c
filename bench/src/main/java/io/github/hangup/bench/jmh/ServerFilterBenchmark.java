package io.github.hangup.bench.jmh;

import java.util.concurrent.TimeUnit;

import io.github.hangup.DefaultHangupClassifier;
import io.github.hangup.HangupRecorder;
import io.github.hangup.metrics.MicrometerHangupListener;
import io.github.hangup.server.HangupWebFilter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;

import org.springframework.http.HttpStatus;
import org.springframework.mock.http.server.reactive.MockServerHttpRequest;
import org.springframework.http.codec.ServerCodecConfigurer;
import org.springframework.mock.http.server.reactive.MockServerHttpResponse;
import org.springframework.web.server.adapter.DefaultServerWebExchange;
import org.springframework.web.server.i18n.AcceptHeaderLocaleContextResolver;
import org.springframework.web.server.session.DefaultWebSessionManager;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.server.WebFilterChain;

/**
 * One healthy inbound exchange through the Hangup web filter and without it. Both create
 * the same mock exchange, so the difference is the filter's cost.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class ServerFilterBenchmark {

	private final HangupWebFilter filter = new HangupWebFilter(new DefaultHangupClassifier(),
			HangupRecorder.of(new MicrometerHangupListener(new SimpleMeterRegistry(), 100)));

	private final WebFilterChain chain = (exchange) -> {
		exchange.getResponse().setStatusCode(HttpStatus.OK);
		return exchange.getResponse().setComplete();
	};

	private final ServerCodecConfigurer codecs = ServerCodecConfigurer.create();

	private final DefaultWebSessionManager sessions = new DefaultWebSessionManager();

	private final AcceptHeaderLocaleContextResolver locales = new AcceptHeaderLocaleContextResolver();

	// A mock request and response as in MockServerWebExchange, except that the response
	// answers a native response as a server's does (a mock one throws when asked).
	private ServerWebExchange exchange() {
		return new DefaultServerWebExchange(MockServerHttpRequest.get("/items/42").build(), new ServerResponse(),
				this.sessions, this.codecs, this.locales);
	}

	static final class ServerResponse extends MockServerHttpResponse {

		private static final Object NATIVE = new Object();

		@Override
		@SuppressWarnings("unchecked")
		public <T> T getNativeResponse() {
			return (T) NATIVE;
		}

	}

	@Benchmark
	public ServerWebExchange withoutFilter() {
		ServerWebExchange exchange = exchange();
		this.chain.filter(exchange).block();
		return exchange;
	}

	@Benchmark
	public ServerWebExchange withFilter() {
		ServerWebExchange exchange = exchange();
		this.filter.filter(exchange, this.chain).block();
		return exchange;
	}

}
