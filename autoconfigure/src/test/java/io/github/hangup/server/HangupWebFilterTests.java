package io.github.hangup.server;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import io.github.hangup.DefaultHangupClassifier;
import io.github.hangup.HangupEvent;
import io.github.hangup.HangupKind;
import io.github.hangup.HangupPhase;
import io.github.hangup.HangupRecorder;
import io.github.hangup.HangupSide;
import org.junit.jupiter.api.Test;
import org.reactivestreams.Subscription;
import reactor.core.publisher.BaseSubscriber;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;

import org.springframework.http.server.reactive.ServerHttpResponse;
import org.springframework.mock.http.server.reactive.MockServerHttpRequest;
import org.springframework.mock.web.server.MockServerWebExchange;
import org.springframework.web.server.ServerWebExchange;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Unit tests of the web filter over a mock exchange: where the scope is found, how the
 * processing's end closes it, and what a cancel records. Its behaviour on real
 * connections is tested by the integration tests.
 */
class HangupWebFilterTests {

	private final List<HangupEvent> events = new CopyOnWriteArrayList<>();

	private final HangupWebFilter filter = new HangupWebFilter(new DefaultHangupClassifier(),
			HangupRecorder.of(this.events::add));

	private final MockServerWebExchange exchange = MockServerWebExchange.from(MockServerHttpRequest.get("/items/1"));

	@Test
	void scopeIsInTheExchangeAttributesAndInTheReactorContextOfTheChain() {
		AtomicReference<ServerWebExchange> chained = new AtomicReference<>();
		AtomicReference<InboundScope> inContext = new AtomicReference<>();
		StepVerifier.create(this.filter.filter(this.exchange, (exchange) -> {
			chained.set(exchange);
			return Mono.deferContextual((context) -> {
				inContext.set(InboundScope.from(context));
				return Mono.empty();
			});
		})).verifyComplete();
		assertThat(scope()).isNotNull();
		assertThat(chained.get().<InboundScope>getAttribute(InboundScope.ATTRIBUTE)).isSameAs(scope());
		assertThat(inContext.get()).isSameAs(scope());
	}

	@Test
	void scopeIsCurrentWhileTheChainIsSubscribedAndThePreviousOneIsRestoredAfter() {
		AtomicReference<InboundScope> current = new AtomicReference<>();
		Mono<Void> processing = this.filter.filter(this.exchange,
				(exchange) -> Mono.fromRunnable(() -> current.set(InboundScope.current())));
		InboundScope previous = new InboundScope();
		InboundScope before = CurrentScope.set(previous);
		try {
			StepVerifier.create(processing).verifyComplete();
			assertThat(InboundScope.current()).isSameAs(previous);
		}
		finally {
			CurrentScope.restore(before);
		}
		assertThat(current.get()).isNotNull().isSameAs(scope());
	}

	@Test
	void completionClosesTheScopeAndOpenScopesReturnsToZero() {
		AtomicInteger during = new AtomicInteger(-1);
		StepVerifier
			.create(this.filter.filter(this.exchange,
					(exchange) -> Mono.fromRunnable(() -> during.set(this.filter.openScopes()))))
			.verifyComplete();
		assertThat(during).hasValue(1);
		assertEndedWithoutHangup();
	}

	@Test
	void errorClosesTheScopeAndOpenScopesReturnsToZero() {
		StepVerifier
			.create(this.filter.filter(this.exchange, (exchange) -> Mono.error(new IllegalStateException("failed"))))
			.verifyErrorMessage("failed");
		assertEndedWithoutHangup();
	}

	@Test
	void cancelOfARequestWhoseResponseIsNotCompleteIsOneClientCancel() {
		Subscription processing = subscribe(this.filter.filter(this.exchange, (exchange) -> Mono.never()));
		assertThat(this.filter.openScopes()).isOne();
		processing.cancel();
		processing.cancel();
		assertThat(this.filter.openScopes()).isZero();
		assertThat(scope().isClientGone()).isTrue();
		assertThat(this.events).singleElement().satisfies((event) -> {
			assertThat(event.side()).isEqualTo(HangupSide.INBOUND);
			assertThat(event.kind()).isEqualTo(HangupKind.CLIENT_CANCEL);
			assertThat(event.phase()).isEqualTo(HangupPhase.BEFORE_RESPONSE);
			assertThat(event.method()).isEqualTo("GET");
			assertThat(event.upstream()).isNull();
		});
		assertThat(scope().kind()).isEqualTo(HangupKind.CLIENT_CANCEL);
	}

	@Test
	void cancelTellsTheOutboundCallStillInTheScopeOnceAndNamesItsUpstream() {
		List<String> told = new CopyOnWriteArrayList<>();
		subscribe(this.filter.filter(this.exchange, (exchange) -> Mono.defer(() -> {
			exchange.<InboundScope>getRequiredAttribute(InboundScope.ATTRIBUTE).join(new Call("catalog:8080", told));
			return Mono.never();
		}))).cancel();
		assertThat(told).containsExactly("catalog:8080");
		assertThat(this.events).singleElement().extracting(HangupEvent::upstream).isEqualTo("catalog:8080");
	}

	@Test
	void cancelAfterTheWholeResponseWasWrittenIsNoHangup() {
		subscribe(this.filter.filter(this.exchange, (exchange) -> {
			ServerHttpResponse response = exchange.getResponse();
			byte[] body = "hello".getBytes(StandardCharsets.UTF_8);
			response.getHeaders().setContentLength(body.length);
			return response.writeWith(Mono.just(response.bufferFactory().wrap(body))).then(Mono.never());
		})).cancel();
		assertThat(this.exchange.getResponse().getBodyAsString().block()).isEqualTo("hello");
		assertEndedWithoutHangup();
	}

	@Test
	void descriptionIsOneConstantStringSinceWebFluxAsksForItOnEveryRequest() {
		assertThat(this.filter.toString()).isEqualTo(HangupWebFilter.class.getName()).isSameAs(this.filter.toString());
	}

	private InboundScope scope() {
		return this.exchange.getAttribute(InboundScope.ATTRIBUTE);
	}

	private void assertEndedWithoutHangup() {
		assertThat(this.filter.openScopes()).isZero();
		assertThat(scope().isClosed()).isTrue();
		assertThat(scope().isClientGone()).isFalse();
		assertThat(this.events).isEmpty();
	}

	/**
	 * Subscribe and return the filter's own subscription, to cancel once the chain is
	 * running (StepVerifier's thenCancel cancels before the chain is subscribed), or
	 * twice as a server may.
	 */
	private static Subscription subscribe(Mono<Void> processing) {
		AtomicReference<Subscription> subscription = new AtomicReference<>();
		processing.subscribe(new BaseSubscriber<Void>() {

			@Override
			protected void hookOnSubscribe(Subscription upstream) {
				subscription.set(upstream);
				upstream.request(Long.MAX_VALUE);
			}

		});
		return subscription.get();
	}

	/**
	 * An outbound call that is running, not cancelled.
	 */
	private record Call(String upstream, List<String> told) implements InboundScope.Participant {

		@Override
		public boolean isCancelled() {
			return false;
		}

		@Override
		public void onClientGone() {
			this.told.add(this.upstream);
		}

	}

}
