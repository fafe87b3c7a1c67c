package io.github.hangup.server;

import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Test;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;
import reactor.util.context.ContextView;

import org.springframework.http.server.reactive.HttpHandler;
import org.springframework.http.server.reactive.ServerHttpResponse;
import org.springframework.mock.http.server.reactive.MockServerHttpRequest;
import org.springframework.mock.http.server.reactive.MockServerHttpResponse;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The handler wrapper adds nothing to the Reactor {@code Context} the application's
 * handler sees: WebFlux's observation {@code tap} restores thread locals around each of
 * its signals whenever that context is not empty. The request's scope travels with the
 * response.
 */
class ServerAbortsTests {

	@Test
	void handlerSeesAnEmptyContextAndTheScopeWithTheResponse() {
		AtomicReference<ContextView> seen = new AtomicReference<>();
		AtomicReference<ServerHttpResponse> response = new AtomicReference<>();
		HttpHandler handler = (request, served) -> Mono.deferContextual((context) -> {
			seen.set(context);
			response.set(served);
			return Mono.empty();
		});
		StepVerifier
			.create(HangupWebFilter.watchAborts(handler)
				.handle(MockServerHttpRequest.get("/").build(), new MockServerHttpResponse()))
			.verifyComplete();
		assertThat(seen.get().isEmpty()).isTrue();
		CountingResponse counting = CountingResponse.find(response.get());
		assertThat(counting).isNotNull();
		assertThat(counting.scope()).isNotNull();
	}

}
