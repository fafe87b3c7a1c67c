package io.github.hangup.client;

import java.net.ConnectException;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import io.github.hangup.DefaultHangupClassifier;
import io.github.hangup.HangupEvent;
import io.github.hangup.HangupKind;
import io.github.hangup.HangupRecorder;
import io.github.hangup.UpstreamUnreachableException;
import io.github.hangup.server.InboundScope;
import io.github.hangup.server.TestScopes;
import io.github.hangup.support.RecordedHangups;
import org.junit.jupiter.api.Test;
import org.reactivestreams.Subscription;
import reactor.core.CoreSubscriber;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Operators;
import reactor.test.StepVerifier;
import reactor.util.context.Context;

import org.springframework.http.HttpMethod;
import org.springframework.test.util.ReflectionTestUtils;
import org.springframework.web.reactive.function.client.ClientRequest;
import org.springframework.web.reactive.function.client.ClientResponse;
import org.springframework.web.reactive.function.client.ExchangeFunction;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.awaitility.Awaitility.await;

/**
 * Unit tests of the filter's naming of upstreams and of the signals it gives its
 * subscriber around exchanges that do unusual things; its behaviour on real sockets is
 * covered by the integration tests.
 */
class HangupExchangeFilterFunctionTests {

	private final RecordedHangups events = new RecordedHangups();

	private final OutboundCalls calls = new OutboundCalls();

	private final HangupExchangeFilterFunction filter = HangupExchangeFilterFunction
		.builder(new DefaultHangupClassifier(), HangupRecorder.of(this.events))
		.responseTimeout(Duration.ZERO)
		.calls(this.calls)
		.build();

	private final ExchangeFunction refused = (request) -> Mono.error(new ConnectException("Connection refused"));

	@Test
	void upstreamIsNamedByHostAndPortForEveryCallWhenCallsAlternateBetweenUpstreams() {
		for (String url : List.of("http://alpha/a", "http://beta:8080/b", "http://alpha/c", "https://alpha/d",
				"http://alpha:8080/e")) {
			StepVerifier
				.create(this.filter.filter(ClientRequest.create(HttpMethod.GET, URI.create(url)).build(), this.refused))
				.expectError(UpstreamUnreachableException.class)
				.verify(Duration.ofSeconds(5));
		}
		List<HangupEvent> events = this.events.await(5);
		assertThat(events).extracting(HangupEvent::upstream)
			.containsExactly("alpha:80", "beta:8080", "alpha:80", "alpha:443", "alpha:8080");
		assertThat(events).extracting(HangupEvent::kind).containsOnly(HangupKind.UPSTREAM_UNREACHABLE);
	}

	@Test
	void clientNameAttributeNamesTheUpstream() {
		ClientRequest request = ClientRequest.create(HttpMethod.GET, URI.create("http://10.0.0.7:9000/items"))
			.attribute(HangupClientAttributes.CLIENT_NAME, "inventory")
			.build();
		StepVerifier.create(this.filter.filter(request, this.refused))
			.expectError(UpstreamUnreachableException.class)
			.verify(Duration.ofSeconds(5));
		assertThat(this.events.await(1)).singleElement().extracting(HangupEvent::upstream).isEqualTo("inventory");
	}

	@Test
	void anExchangeThatCompletesEmptyEndsTheCallAndLeavesItsScope() {
		InboundScope scope = new InboundScope();
		ClientRequest request = ClientRequest.create(HttpMethod.GET, URI.create("http://alpha/a")).build();
		StepVerifier
			.create(this.filter.filter(request, (exchanged) -> Mono.empty())
				.contextWrite(Context.of(InboundScope.CONTEXT_KEY, scope)))
			.verifyComplete();
		assertThat(this.calls.inFlight()).isZero();
		assertThat(TestScopes.participants(scope)).isZero();
		assertThat(this.events.await(0)).isEmpty();
	}

	@Test
	void aTimeoutThatFiresBeforeTheExchangeIsSubscribedWaitsForTheSubscription() {
		HangupExchangeFilterFunction timed = HangupExchangeFilterFunction
			.builder(new DefaultHangupClassifier(), HangupRecorder.of(this.events))
			.responseTimeout(Duration.ofMillis(1))
			.calls(this.calls)
			.build();
		// An exchange that hands out its subscription only once the call timed out.
		Mono<ClientResponse> lateSubscription = new Mono<>() {
			@Override
			public void subscribe(CoreSubscriber<? super ClientResponse> actual) {
				HangupExchangeFilterFunctionTests.this.events.await(1);
				actual.onSubscribe(Operators.emptySubscription());
			}
		};
		OrderedSubscriber subscriber = new OrderedSubscriber();
		timed
			.filter(ClientRequest.create(HttpMethod.GET, URI.create("http://alpha/a")).build(),
					(request) -> lateSubscription)
			.subscribe(subscriber);
		await().atMost(Duration.ofSeconds(5)).until(() -> subscriber.signals.size() == 2);
		assertThat(subscriber.signals).containsExactly("onSubscribe", "onError UpstreamTimeoutException");
		assertThat(this.calls.inFlight()).isZero();
	}

	@Test
	void settingsLeftUnsetOnTheBuilderKeepTheirDocumentedDefaults() {
		HangupExchangeFilterFunction built = HangupExchangeFilterFunction
			.builder(new DefaultHangupClassifier(), HangupRecorder.of(this.events))
			.build();
		assertThat(built).hasFieldOrPropertyWithValue("responseTimeout", Duration.ofSeconds(30))
			.hasFieldOrPropertyWithValue("propagation", PropagationMode.REQUEST)
			.hasFieldOrPropertyWithValue("reuse", ConnectionReuse.DEFAULTS)
			.hasFieldOrPropertyWithValue("streams", StreamingResponses.DEFAULTS)
			.hasFieldOrPropertyWithValue("quietDroppedErrors", true);
	}

	@Test
	void eachFilterBuiltWithoutSharedCallsCountsItsCallsApart() {
		HangupExchangeFilterFunction.Builder builder = HangupExchangeFilterFunction
			.builder(new DefaultHangupClassifier(), HangupRecorder.of(this.events));
		Object first = builder.build();
		Object second = builder.build();
		assertThat(first).extracting("calls")
			.isInstanceOf(OutboundCalls.class)
			.isNotSameAs(this.calls)
			.isNotSameAs(ReflectionTestUtils.getField(second, "calls"));
	}

	@Test
	void negativeResponseTimeoutIsRejectedNamingTheSetting() {
		HangupExchangeFilterFunction.Builder builder = HangupExchangeFilterFunction
			.builder(new DefaultHangupClassifier(), HangupRecorder.of(this.events));
		assertThatIllegalArgumentException().isThrownBy(() -> builder.responseTimeout(Duration.ofMillis(-1)))
			.withMessage("Response timeout must not be negative");
	}

	/** Records the order of the signals it gets. */
	static final class OrderedSubscriber implements CoreSubscriber<ClientResponse> {

		final List<String> signals = new CopyOnWriteArrayList<>();

		@Override
		public void onSubscribe(Subscription subscription) {
			this.signals.add("onSubscribe");
			subscription.request(1);
		}

		@Override
		public void onNext(ClientResponse response) {
			this.signals.add("onNext");
		}

		@Override
		public void onError(Throwable error) {
			this.signals.add("onError " + error.getClass().getSimpleName());
		}

		@Override
		public void onComplete() {
			this.signals.add("onComplete");
		}

	}

}
