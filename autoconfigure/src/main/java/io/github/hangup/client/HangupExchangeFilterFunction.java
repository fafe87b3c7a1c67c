package io.github.hangup.client;

import java.net.URI;
import java.time.Duration;

import io.github.hangup.HangupClassifier;
import io.github.hangup.InboundScope;
import reactor.core.publisher.Mono;

import org.springframework.util.Assert;
import org.springframework.web.reactive.function.client.ClientRequest;
import org.springframework.web.reactive.function.client.ClientResponse;
import org.springframework.web.reactive.function.client.ExchangeFilterFunction;
import org.springframework.web.reactive.function.client.ExchangeFunction;

import io.github.hangup.HangupRecorder;

/**
 * WebClient filter that makes outbound hang-ups explicit:
 * <ul>
 * <li>applies a response timeout (to the response and between two chunks of its body), since
 * without one a WebClient waits forever;</li>
 * <li>translates upstream failures, before the response and in its body, into
 * {@link io.github.hangup.UpstreamHangupException}s that keep the original cause;</li>
 * <li>records each outbound hang-up once, including calls cancelled because the inbound
 * client they were serving went away.</li>
 * </ul>
 *
 * @since 0.1.0
 */
public final class HangupExchangeFilterFunction implements ExchangeFilterFunction {

	private final HangupClassifier classifier;

	private final HangupRecorder recorder;

	private final Duration responseTimeout;

	/**
	 * Create a filter.
	 * @param classifier decides which errors are hang-ups
	 * @param recorder receives the hang-ups
	 * @param responseTimeout default response timeout; {@link Duration#ZERO} for none
	 */
	public HangupExchangeFilterFunction(HangupClassifier classifier, HangupRecorder recorder,
			Duration responseTimeout) {
		Assert.isTrue(!responseTimeout.isNegative(), "Response timeout must not be negative");
		this.classifier = classifier;
		this.recorder = recorder;
		this.responseTimeout = responseTimeout;
	}

	@Override
	public Mono<ClientResponse> filter(ClientRequest request, ExchangeFunction next) {
		return Mono.deferContextual((context) -> {
			InboundScope scope = context.getOrDefault(InboundScope.CONTEXT_KEY, null);
			OutboundCall call = new OutboundCall(this.classifier, this.recorder, request.method().name(),
					upstream(request), scope);
			Duration timeout = request.attribute(HangupClientAttributes.RESPONSE_TIMEOUT)
				.filter(Duration.class::isInstance)
				.map(Duration.class::cast)
				.orElse(this.responseTimeout);
			return call.exchange(next.exchange(request), timeout);
		});
	}

	private static String upstream(ClientRequest request) {
		Object name = request.attribute(HangupClientAttributes.CLIENT_NAME).orElse(null);
		if (name instanceof String text && !text.isEmpty()) {
			return text;
		}
		URI url = request.url();
		String host = (url.getHost() != null) ? url.getHost() : "unknown";
		int port = url.getPort();
		if (port == -1) {
			port = "https".equalsIgnoreCase(url.getScheme()) ? 443 : 80;
		}
		return host + ":" + port;
	}

}
