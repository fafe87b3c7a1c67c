package io.github.hangup.client;

import java.net.ConnectException;
import java.net.URI;
import java.time.Duration;
import java.util.List;

import io.github.hangup.DefaultHangupClassifier;
import io.github.hangup.HangupEvent;
import io.github.hangup.HangupKind;
import io.github.hangup.HangupRecorder;
import io.github.hangup.UpstreamUnreachableException;
import io.github.hangup.support.RecordedHangups;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;

import org.springframework.http.HttpMethod;
import org.springframework.web.reactive.function.client.ClientRequest;
import org.springframework.web.reactive.function.client.ExchangeFunction;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Unit tests of the filter's naming of upstreams; its behaviour on real sockets is covered
 * by the integration tests.
 */
class HangupExchangeFilterFunctionTests {

	private final RecordedHangups events = new RecordedHangups();

	private final HangupExchangeFilterFunction filter = new HangupExchangeFilterFunction(
			new DefaultHangupClassifier(), HangupRecorder.of(this.events), Duration.ZERO);

	private final ExchangeFunction refused = (request) -> Mono.error(new ConnectException("Connection refused"));

	@Test
	void upstreamIsNamedByHostAndPortForEveryCallWhenCallsAlternateBetweenUpstreams() {
		for (String url : List.of("http://alpha/a", "http://beta:8080/b", "http://alpha/c", "https://alpha/d",
				"http://alpha:8080/e")) {
			StepVerifier.create(this.filter.filter(ClientRequest.create(HttpMethod.GET, URI.create(url)).build(),
					this.refused))
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

}
