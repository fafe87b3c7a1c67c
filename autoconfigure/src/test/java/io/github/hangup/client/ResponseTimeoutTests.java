package io.github.hangup.client;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import io.github.hangup.DefaultHangupClassifier;
import io.github.hangup.HangupKind;
import io.github.hangup.HangupPhase;
import io.github.hangup.HangupRecorder;
import io.github.hangup.UpstreamTimeoutException;
import io.github.hangup.support.FaultyUpstream;
import io.github.hangup.support.RecordedHangups;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;

import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.core.io.buffer.DataBufferUtils;
import org.springframework.http.MediaType;
import org.springframework.http.client.reactive.ClientHttpConnector;
import org.springframework.http.client.reactive.JdkClientHttpConnector;
import org.springframework.http.client.reactive.ReactorClientHttpConnector;
import org.springframework.web.reactive.function.client.ClientRequest;
import org.springframework.web.reactive.function.client.WebClient;
import org.springframework.web.reactive.function.client.WebClientResponseException;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The response timeout works with Reactor Netty (a task on the connection's event loop)
 * and with any other connector (Reactor timers), before the response and between two
 * chunks of its body.
 */
class ResponseTimeoutTests {

	/**
	 * Half as long as the upstream's trickling body, or an upload trickled the same way,
	 * takes.
	 */
	private static final Duration HALF_A_TRICKLE = Duration
		.ofMillis(FaultyUpstream.TRICKLE_CHUNKS * FaultyUpstream.TRICKLE_GAP_MILLIS / 2);

	private FaultyUpstream upstream;

	private final RecordedHangups events = new RecordedHangups();

	@BeforeEach
	void start() throws Exception {
		this.upstream = new FaultyUpstream();
	}

	@AfterEach
	void stop() throws Exception {
		this.upstream.close();
	}

	static Stream<String> connectors() {
		return Stream.of("reactor-netty", "jdk");
	}

	@ParameterizedTest(name = "{0}: an upstream that never answers times out before the response")
	@MethodSource("connectors")
	void upstreamThatNeverAnswersTimesOutBeforeTheResponse(String connector) {
		StepVerifier.create(client(connector).get().uri("/hang").retrieve().bodyToMono(String.class))
			.expectErrorSatisfies((ex) -> assertThat(ex).isInstanceOfSatisfying(UpstreamTimeoutException.class,
					(timeout) -> assertThat(timeout.getPhase()).isEqualTo(HangupPhase.BEFORE_RESPONSE)))
			.verify(Duration.ofSeconds(10));
		assertThat(this.events.await(1)).singleElement()
			.satisfies((event) -> assertThat(event.kind()).isEqualTo(HangupKind.UPSTREAM_TIMEOUT));
		this.upstream.awaitPeerClosed("/hang", 1);
	}

	@ParameterizedTest(name = "{0}: an upstream that stalls mid-body times out during the response")
	@MethodSource("connectors")
	void upstreamThatStallsMidBodyTimesOutDuringTheResponse(String connector) {
		StepVerifier
			.create(client(connector).get()
				.uri("/stall-mid-body")
				.retrieve()
				.bodyToFlux(DataBuffer.class)
				.doOnNext(DataBufferUtils::release)
				.then())
			// retrieve() wraps errors of the body in a WebClientResponseException.
			.expectErrorSatisfies((ex) -> assertThat(ex).isInstanceOf(WebClientResponseException.class)
				.cause()
				.isInstanceOfSatisfying(UpstreamTimeoutException.class,
						(timeout) -> assertThat(timeout.getPhase()).isEqualTo(HangupPhase.DURING_RESPONSE)))
			.verify(Duration.ofSeconds(10));
		assertThat(this.events.await(1)).singleElement()
			.satisfies((event) -> assertThat(event.phase()).isEqualTo(HangupPhase.DURING_RESPONSE));
		if (connector.equals("reactor-netty")) {
			// The JDK client keeps a connection whose body was abandoned; Reactor Netty
			// closes it.
			this.upstream.awaitPeerClosed("/stall-mid-body", 1);
		}
	}

	@ParameterizedTest(name = "{0}: a body that keeps arriving is not timed out, however long it takes")
	@MethodSource("connectors")
	void bodyThatKeepsArrivingIsNotTimedOut(String connector) {
		// The timeout is between two reads: the whole body takes twice as long.
		StepVerifier.create(client(connector, HALF_A_TRICKLE).get().uri("/trickle").retrieve().bodyToMono(String.class))
			.expectNext("x".repeat(FaultyUpstream.TRICKLE_CHUNKS))
			.verifyComplete();
		assertThat(this.events.await(0)).isEmpty();
	}

	@Test
	void slowUploadIsNotTimedOutSinceTheTimeoutCountsFromWhenTheRequestWasSent() {
		// The JDK client sends the request after WebClient wrote it, so only Reactor
		// Netty tells when it was sent.
		Flux<String> body = Flux.interval(Duration.ofMillis(FaultyUpstream.TRICKLE_GAP_MILLIS))
			.take(FaultyUpstream.TRICKLE_CHUNKS)
			.map((tick) -> "x");
		StepVerifier
			.create(client("reactor-netty", HALF_A_TRICKLE).post()
				.uri("/ok")
				.contentType(MediaType.TEXT_PLAIN)
				.contentLength(FaultyUpstream.TRICKLE_CHUNKS)
				.body(body, String.class)
				.retrieve()
				.bodyToMono(String.class))
			.expectNext("hello")
			.verifyComplete();
		assertThat(this.events.await(0)).isEmpty();
	}

	@ParameterizedTest(name = "{0}: a body read after the timeout expired fails with the timeout")
	@MethodSource("connectors")
	void bodyReadAfterTheTimeoutExpiredFailsWithTheTimeout(String connector) {
		StepVerifier.create(client(connector).get()
			.uri("/stall-mid-body")
			.exchangeToMono((response) -> Mono.delay(Duration.ofMillis(900)).then(response.bodyToMono(String.class))))
			.expectErrorSatisfies((ex) -> assertThat(ex).isInstanceOfSatisfying(UpstreamTimeoutException.class,
					(timeout) -> assertThat(timeout.getPhase()).isEqualTo(HangupPhase.DURING_RESPONSE)))
			.verify(Duration.ofSeconds(10));
		assertThat(this.events.await(1)).singleElement()
			.satisfies((event) -> assertThat(event.kind()).isEqualTo(HangupKind.UPSTREAM_TIMEOUT));
		if (connector.equals("reactor-netty")) {
			this.upstream.awaitPeerClosed("/stall-mid-body", 1);
		}
	}

	@ParameterizedTest(name = "{0}: a healthy call is not timed out")
	@MethodSource("connectors")
	void healthyCallIsNotTimedOut(String connector) {
		// Long enough for a cold JDK HttpClient's first call: the timer is armed all the
		// same.
		StepVerifier
			.create(client(connector, Duration.ofSeconds(5)).get().uri("/ok").retrieve().bodyToMono(String.class))
			.expectNext("hello")
			.verifyComplete();
		assertThat(this.events.await(0)).isEmpty();
	}

	@ParameterizedTest(
			name = "{0}: the timeout survives a request copied by a later filter, with the caller's own httpRequest consumer")
	@MethodSource("connectors")
	void timeoutSurvivesACopiedRequestAndKeepsTheCallersHttpRequestConsumer(String connector) {
		AtomicInteger callerConsumer = new AtomicInteger();
		WebClient copying = client(connector).mutate()
			.filter((request, next) -> next.exchange(ClientRequest.from(request).header("X-Copied", "yes").build()))
			.build();
		StepVerifier
			.create(copying.get()
				.uri("/hang")
				.httpRequest((httpRequest) -> callerConsumer.incrementAndGet())
				.retrieve()
				.bodyToMono(String.class))
			.expectError(UpstreamTimeoutException.class)
			.verify(Duration.ofSeconds(10));
		assertThat(callerConsumer).hasValue(1);
		assertThat(this.events.await(1)).singleElement()
			.satisfies((event) -> assertThat(event.kind()).isEqualTo(HangupKind.UPSTREAM_TIMEOUT));
	}

	private WebClient client(String connector) {
		return client(connector, Duration.ofMillis(300));
	}

	private WebClient client(String connector, Duration timeout) {
		ClientHttpConnector http = connector.equals("jdk") ? new JdkClientHttpConnector()
				: new ReactorClientHttpConnector();
		HangupExchangeFilterFunction filter = HangupExchangeFilterFunction
			.builder(new DefaultHangupClassifier(), HangupRecorder.of(this.events))
			.responseTimeout(timeout)
			.build();
		return WebClient.builder().baseUrl(this.upstream.baseUrl()).clientConnector(http).filter(filter).build();
	}

}
