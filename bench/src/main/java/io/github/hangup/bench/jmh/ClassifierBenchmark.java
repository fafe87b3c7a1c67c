package io.github.hangup.bench.jmh;

import java.net.SocketException;
import java.net.URI;
import java.util.concurrent.TimeUnit;

import io.github.hangup.DefaultHangupClassifier;
import io.github.hangup.HangupKind;
import io.github.hangup.HangupSide;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import reactor.netty.http.client.PrematureCloseException;

import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpMethod;
import org.springframework.web.reactive.function.client.WebClientRequestException;

/**
 * Classifying the errors a proxy sees: an upstream hang-up as WebClient wraps it, and an
 * application error that is no hang-up at all (the classifier walks its whole cause chain
 * twice, by type and then by message, before giving up).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class ClassifierBenchmark {

	private final DefaultHangupClassifier classifier = new DefaultHangupClassifier();

	private final Throwable prematureClose = new WebClientRequestException(PrematureCloseException.TEST_EXCEPTION,
			HttpMethod.GET, URI.create("http://upstream:8080/items"), new HttpHeaders());

	private final Throwable connectionReset = new WebClientRequestException(new SocketException("Connection reset"),
			HttpMethod.GET, URI.create("http://upstream:8080/items"), new HttpHeaders());

	private final Throwable notAHangup = new IllegalStateException("Order 42 cannot be shipped",
			new IllegalArgumentException("Unknown warehouse", new NumberFormatException("For input string: \"x\"")));

	@Benchmark
	public HangupKind upstreamPrematureClose() {
		return this.classifier.classify(this.prematureClose, HangupSide.INBOUND);
	}

	@Benchmark
	public HangupKind upstreamConnectionReset() {
		return this.classifier.classify(this.connectionReset, HangupSide.INBOUND);
	}

	@Benchmark
	public HangupKind notAHangup() {
		return this.classifier.classify(this.notAHangup, HangupSide.INBOUND);
	}

}
