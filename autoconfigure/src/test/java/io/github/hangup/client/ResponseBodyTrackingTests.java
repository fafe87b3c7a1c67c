package io.github.hangup.client;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;
import java.util.stream.Stream;

import io.github.hangup.DefaultHangupClassifier;
import io.github.hangup.HangupEvent;
import io.github.hangup.HangupKind;
import io.github.hangup.HangupPhase;
import io.github.hangup.HangupRecorder;
import io.github.hangup.UpstreamHangupException;
import io.github.hangup.support.FaultyUpstream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;

import org.springframework.core.ParameterizedTypeReference;
import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.core.io.buffer.DataBufferUtils;
import org.springframework.web.reactive.function.BodyExtractors;
import org.springframework.web.reactive.function.client.ClientResponse;
import org.springframework.web.reactive.function.client.WebClient;
import org.springframework.web.reactive.function.client.WebClientResponseException;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Every way of reading a response through the filter reads its body through the call: a
 * complete body ends the call, a reset body is recorded and, where the caller sees
 * errors, reaches it translated.
 */
class ResponseBodyTrackingTests {

	private static final ParameterizedTypeReference<String> STRING = new ParameterizedTypeReference<>() {
	};

	private FaultyUpstream upstream;

	private final List<HangupEvent> events = new CopyOnWriteArrayList<>();

	private final OutboundCalls calls = new OutboundCalls();

	private final HangupExchangeFilterFunction filter = HangupExchangeFilterFunction
		.builder(new DefaultHangupClassifier(), HangupRecorder.of(this.events::add))
		.responseTimeout(Duration.ZERO)
		.calls(this.calls)
		.build();

	@BeforeEach
	void start() throws Exception {
		this.upstream = new FaultyUpstream();
	}

	@AfterEach
	void stop() throws Exception {
		this.upstream.close();
	}

	/** A way of reading the response, and whether a failed body reaches the caller. */
	static Stream<Arguments> reads() {
		return Stream.of(read("bodyToMono(Class)", (r) -> r.bodyToMono(String.class), true),
				read("bodyToMono(type)", (r) -> r.bodyToMono(STRING), true),
				read("bodyToFlux(DataBuffer)", (r) -> r.bodyToFlux(DataBuffer.class).map(DataBufferUtils::release),
						true),
				read("bodyToFlux(Class)", (r) -> r.bodyToFlux(String.class), true),
				read("bodyToFlux(type)", (r) -> r.bodyToFlux(STRING), true),
				read("body(extractor)", (r) -> r.body(BodyExtractors.toMono(String.class)), true),
				read("toEntity(Class)", (r) -> r.toEntity(String.class), true),
				read("toEntity(type)", (r) -> r.toEntity(STRING), true),
				read("toEntityList(Class)", (r) -> r.toEntityList(String.class), true),
				read("toEntityList(type)", (r) -> r.toEntityList(STRING), true),
				read("toBodilessEntity()", ClientResponse::toBodilessEntity, true),
				read("releaseBody()", ClientResponse::releaseBody, true),
				read("mutate()", (r) -> r.mutate().header("X-Mutated", "yes").build().bodyToMono(String.class), true),
				// Both keep an error response's failed body out of the exception they
				// build.
				read("createException()", ClientResponse::createException, false),
				read("not read at all", (r) -> Mono.just("ignored"), false));
	}

	private static Arguments read(String name, Function<ClientResponse, ? extends Publisher<?>> read,
			boolean failureReachesCaller) {
		return Arguments.of(name, read, failureReachesCaller);
	}

	@ParameterizedTest(name = "{0}: a complete body ends the call")
	@MethodSource("reads")
	void completeBodyEndsTheCall(String name, Function<ClientResponse, Publisher<?>> read,
			boolean failureReachesCaller) {
		StepVerifier.create(client().get().uri("/ok").exchangeToMono((response) -> reading(read.apply(response))))
			.verifyComplete();
		awaitNothingInFlight();
		assertThat(this.events).isEmpty();
	}

	@ParameterizedTest(name = "{0}: a reset body is recorded once and ends the call")
	@MethodSource("reads")
	void resetBodyIsRecordedOnceAndEndsTheCall(String name, Function<ClientResponse, Publisher<?>> read,
			boolean failureReachesCaller) {
		Mono<Void> exchange = client().get()
			.uri("/reset-mid-body")
			.exchangeToMono((response) -> reading(read.apply(response)));
		if (failureReachesCaller) {
			StepVerifier.create(exchange).expectError(UpstreamHangupException.class).verify(Duration.ofSeconds(10));
		}
		else {
			StepVerifier.create(exchange).verifyComplete();
		}
		awaitNothingInFlight();
		assertThat(this.events).singleElement().satisfies((event) -> {
			assertThat(event.kind()).isEqualTo(HangupKind.UPSTREAM_RESET);
			assertThat(event.phase()).isEqualTo(HangupPhase.DURING_RESPONSE);
		});
	}

	@Test
	void errorResponseDescribesTheRequestAndEndsTheCall() {
		StepVerifier.create(client().get().uri("/missing").retrieve().bodyToMono(String.class))
			.expectErrorSatisfies(
					(ex) -> assertThat(ex).isInstanceOfSatisfying(WebClientResponseException.class, (error) -> {
						assertThat(error.getStatusCode().value()).isEqualTo(404);
						assertThat(error.getRequest()).isNotNull();
						assertThat(error.getRequest().getURI()).hasPath("/missing");
					}))
			.verify(Duration.ofSeconds(10));
		awaitNothingInFlight();
		assertThat(this.events).isEmpty();
	}

	@Test
	void responseMutatedByAnOuterFilterKeepsItsRequestAndItsTrackedBody() {
		WebClient mutating = WebClient.builder()
			.baseUrl(this.upstream.baseUrl())
			.filter((request, next) -> next.exchange(request)
				.map((response) -> response.mutate().header("X-Outer", response.request().getURI().getPath()).build()))
			.filter(this.filter)
			.build();
		StepVerifier.create(mutating.get().uri("/ok").retrieve().toEntity(String.class)).assertNext((entity) -> {
			assertThat(entity.getBody()).isEqualTo("hello");
			assertThat(entity.getHeaders().getFirst("X-Outer")).isEqualTo("/ok");
		}).verifyComplete();
		StepVerifier.create(mutating.get().uri("/reset-mid-body").exchangeToMono((response) -> {
			assertThat(response.request().getURI()).hasPath("/reset-mid-body");
			return response.bodyToMono(String.class);
		})).expectError(UpstreamHangupException.class).verify(Duration.ofSeconds(10));
		awaitNothingInFlight();
		assertThat(this.events).singleElement()
			.satisfies((event) -> assertThat(event.kind()).isEqualTo(HangupKind.UPSTREAM_RESET));
	}

	private static Mono<Void> reading(Publisher<?> read) {
		return Flux.from(read).then();
	}

	private void awaitNothingInFlight() {
		await().atMost(Duration.ofSeconds(5)).until(() -> this.calls.inFlight() == 0);
	}

	private WebClient client() {
		return WebClient.builder().baseUrl(this.upstream.baseUrl()).filter(this.filter).build();
	}

}
