package io.github.hangup.client;

import java.util.List;

import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

import org.springframework.core.ParameterizedTypeReference;
import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.core.io.buffer.DataBufferUtils;
import org.springframework.http.HttpRequest;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.ResponseCookie;
import org.springframework.http.ResponseEntity;
import org.springframework.http.client.reactive.ClientHttpResponse;
import org.springframework.util.MultiValueMap;
import org.springframework.web.reactive.function.BodyExtractor;
import org.springframework.web.reactive.function.BodyExtractors;
import org.springframework.web.reactive.function.client.ClientResponse;
import org.springframework.web.reactive.function.client.ExchangeStrategies;
import org.springframework.web.reactive.function.client.WebClientResponseException;

/**
 * The connector's response with its body read through the call's {@link TrackedBody}.
 * <p>
 * A view rather than {@code ClientResponse.mutate()}: the builder wraps the body in a
 * second response with its own checkpoint and request description, which cost most of the
 * filter's time on a healthy call. Every body read goes through the original response's
 * {@link ClientResponse#body(BodyExtractor)}, so decoding, hints and checkpoints stay
 * WebClient's own. Error responses ({@link #createException()}) and {@link #mutate()} use
 * a built response instead: its request is the one WebClient's exceptions describe, which
 * a builder cannot see on a response of another class.
 */
final class TrackedResponse implements ClientResponse {

	private final ClientResponse response;

	private final TrackedBody body;

	private @Nullable ClientResponse built;

	TrackedResponse(ClientResponse response, TrackedBody body) {
		this.response = response;
		this.body = body;
	}

	@Override
	public HttpStatusCode statusCode() {
		return this.response.statusCode();
	}

	@Override
	public Headers headers() {
		return this.response.headers();
	}

	@Override
	public MultiValueMap<String, ResponseCookie> cookies() {
		return this.response.cookies();
	}

	@Override
	public ExchangeStrategies strategies() {
		return this.response.strategies();
	}

	@Override
	public HttpRequest request() {
		return this.response.request();
	}

	@Override
	public String logPrefix() {
		return this.response.logPrefix();
	}

	@Override
	public <T> T body(BodyExtractor<T, ? super ClientHttpResponse> extractor) {
		return this.response.body((ClientHttpResponse message, BodyExtractor.Context context) -> extractor
			.extract(this.body.wrap(message), context));
	}

	@Override
	public <T> Mono<T> bodyToMono(Class<? extends T> elementClass) {
		return body(BodyExtractors.toMono(elementClass));
	}

	@Override
	public <T> Mono<T> bodyToMono(ParameterizedTypeReference<T> elementTypeRef) {
		return body(BodyExtractors.toMono(elementTypeRef));
	}

	@Override
	@SuppressWarnings("unchecked")
	public <T> Flux<T> bodyToFlux(Class<? extends T> elementClass) {
		// As WebClient does: buffers need no decoder.
		return DataBuffer.class.equals(elementClass) ? (Flux<T>) body(BodyExtractors.toDataBuffers())
				: body(BodyExtractors.toFlux(elementClass));
	}

	@Override
	public <T> Flux<T> bodyToFlux(ParameterizedTypeReference<T> elementTypeRef) {
		return body(BodyExtractors.toFlux(elementTypeRef));
	}

	@Override
	public Mono<Void> releaseBody() {
		return body(BodyExtractors.toDataBuffers()).map(DataBufferUtils::release).then();
	}

	@Override
	public <T> Mono<ResponseEntity<T>> toEntity(Class<T> bodyClass) {
		return entity(bodyToMono(bodyClass));
	}

	@Override
	public <T> Mono<ResponseEntity<T>> toEntity(ParameterizedTypeReference<T> bodyTypeReference) {
		return entity(bodyToMono(bodyTypeReference));
	}

	@Override
	public <T> Mono<ResponseEntity<List<T>>> toEntityList(Class<T> elementClass) {
		return entity(bodyToFlux(elementClass).collectList());
	}

	@Override
	public <T> Mono<ResponseEntity<List<T>>> toEntityList(ParameterizedTypeReference<T> elementTypeRef) {
		return entity(bodyToFlux(elementTypeRef).collectList());
	}

	@Override
	public Mono<ResponseEntity<Void>> toBodilessEntity() {
		return releaseBody().then(entity(Mono.empty()));
	}

	@Override
	public Mono<WebClientResponseException> createException() {
		return built().createException();
	}

	@Override
	public <T> Mono<T> createError() {
		return built().createError();
	}

	@Override
	public Builder mutate() {
		return built().mutate();
	}

	private <T> Mono<ResponseEntity<T>> entity(Mono<T> body) {
		return body.map((value) -> new ResponseEntity<>(value, headers().asHttpHeaders(), statusCode()))
			.switchIfEmpty(Mono.fromSupplier(() -> new ResponseEntity<>(headers().asHttpHeaders(), statusCode())));
	}

	private ClientResponse built() {
		ClientResponse current = this.built;
		if (current == null) {
			current = this.response.mutate().body(this.body::track).build();
			this.built = current;
		}
		return current;
	}

}
