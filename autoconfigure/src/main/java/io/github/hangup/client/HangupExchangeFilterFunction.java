package io.github.hangup.client;

import java.net.URI;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import io.github.hangup.HangupClassifier;
import io.github.hangup.HangupObservations;
import io.github.hangup.HangupRecorder;
import io.github.hangup.server.InboundScope;
import io.micrometer.observation.Observation;
import io.micrometer.observation.contextpropagation.ObservationThreadLocalAccessor;
import org.jspecify.annotations.Nullable;
import reactor.core.CoreSubscriber;
import reactor.core.publisher.Mono;
import reactor.util.context.ContextView;

import org.springframework.util.Assert;
import org.springframework.web.reactive.function.client.ClientRequest;
import org.springframework.web.reactive.function.client.ClientResponse;
import org.springframework.web.reactive.function.client.ExchangeFilterFunction;
import org.springframework.web.reactive.function.client.ExchangeFunction;
import org.springframework.web.reactive.function.client.WebClient;

/**
 * WebClient filter that makes outbound hang-ups explicit:
 * <ul>
 * <li>applies a response timeout (to the response and between two chunks of its body),
 * since without one a WebClient waits forever; a streaming body (an event stream) has a
 * limit of its own on its silences, none by default;</li>
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

	private final PropagationMode propagation;

	private final ConnectionReuse reuse;

	/**
	 * The idle pooled connections per upstream, closed together when one of them is found
	 * stale. Bounded like the pools: by the upstreams called and their idle connections.
	 */
	private final Map<String, Set<Object>> idle = new ConcurrentHashMap<>();

	private final OutboundCalls calls;

	private final StreamingResponses streams;

	private final boolean quietDroppedErrors;

	private volatile @Nullable Upstream lastUpstream;

	private HangupExchangeFilterFunction(Builder builder) {
		this.classifier = builder.classifier;
		this.recorder = builder.recorder;
		this.responseTimeout = builder.responseTimeout;
		this.propagation = builder.propagation;
		this.reuse = builder.reuse;
		OutboundCalls calls = builder.calls;
		this.calls = (calls != null) ? calls : new OutboundCalls();
		this.streams = builder.streams;
		this.quietDroppedErrors = builder.quietDroppedErrors;
	}

	/**
	 * Start building a filter.
	 * @param classifier decides which errors are hang-ups
	 * @param recorder receives the hang-ups
	 * @return a builder with every other setting at its default
	 * @since 0.4.0
	 */
	public static Builder builder(HangupClassifier classifier, HangupRecorder recorder) {
		return new Builder(classifier, recorder);
	}

	/**
	 * Remember the inbound request current on the calling thread in a request attribute;
	 * a {@code WebClient.Builder#defaultRequest} for calls subscribed outside the chain.
	 * @param spec the request being built
	 */
	public static void captureCurrentScope(WebClient.RequestHeadersSpec<?> spec) {
		InboundScope scope = InboundScope.current();
		if (scope != null) {
			spec.attribute(InboundScope.ATTRIBUTE, scope);
		}
	}

	@Override
	public Mono<ClientResponse> filter(ClientRequest request, ExchangeFunction next) {
		return new Exchange(request, next);
	}

	private void start(ClientRequest request, ExchangeFunction next, CoreSubscriber<? super ClientResponse> actual) {
		ContextView context = actual.currentContext();
		InboundScope scope = scope(request, context);
		OutboundCall call = new OutboundCall(this.classifier, this.recorder,
				HangupObservations.method(request.method().name()), upstream(request), scope,
				this.propagation == PropagationMode.REQUEST, this.calls, this.quietDroppedErrors);
		Observation observation = context.getOrDefault(ObservationThreadLocalAccessor.KEY, null);
		if (observation != null && !observation.isNoop()) {
			call.observe(observation);
		}
		Object timeout = request.attributes().get(HangupClientAttributes.RESPONSE_TIMEOUT);
		Set<Object> idle = this.idle.computeIfAbsent(call.upstream(), (key) -> ConcurrentHashMap.newKeySet());
		call.start(request, next, (timeout instanceof Duration duration) ? duration : this.responseTimeout, this.reuse,
				this.streams, idle, actual);
	}

	private @Nullable InboundScope scope(ClientRequest request, ContextView context) {
		if (this.propagation == PropagationMode.OFF
				|| Boolean.TRUE.equals(request.attributes().get(HangupClientAttributes.DETACHED))) {
			return null;
		}
		InboundScope scope = InboundScope.from(context);
		if (scope == null && this.propagation == PropagationMode.REQUEST) {
			// Subscribed outside the chain (toFuture(), subscribe()) from the request's
			// code:
			// captured when the request was built, since operators between there and here
			// may already have reset the thread local from their own Context.
			Object captured = request.attributes().get(InboundScope.ATTRIBUTE);
			scope = (captured instanceof InboundScope inbound) ? inbound : InboundScope.current();
		}
		return scope;
	}

	private String upstream(ClientRequest request) {
		Object name = request.attributes().get(HangupClientAttributes.CLIENT_NAME);
		if (name instanceof String text && !text.isEmpty()) {
			return text;
		}
		URI url = request.url();
		String host = (url.getHost() != null) ? url.getHost() : "unknown";
		int port = url.getPort();
		if (port == -1) {
			port = "https".equalsIgnoreCase(url.getScheme()) ? 443 : 80;
		}
		// A proxy calls the same upstream over and over: reuse its name instead of
		// building the same string for every call.
		Upstream last = this.lastUpstream;
		if (last != null && last.port() == port && last.host().equals(host)) {
			return last.name();
		}
		Upstream upstream = new Upstream(host, port, host + ":" + port);
		this.lastUpstream = upstream;
		return upstream.name();
	}

	private record Upstream(String host, int port, String name) {
	}

	/**
	 * One outbound exchange, started for each subscriber with the subscriber's context.
	 */
	private final class Exchange extends Mono<ClientResponse> {

		private final ClientRequest request;

		private final ExchangeFunction next;

		Exchange(ClientRequest request, ExchangeFunction next) {
			this.request = request;
			this.next = next;
		}

		@Override
		public void subscribe(CoreSubscriber<? super ClientResponse> actual) {
			start(this.request, this.next, actual);
		}

	}

	/**
	 * Builds a {@link HangupExchangeFilterFunction}; every setting left alone keeps the
	 * default its method states.
	 *
	 * @since 0.4.0
	 */
	public static final class Builder {

		private final HangupClassifier classifier;

		private final HangupRecorder recorder;

		private Duration responseTimeout = Duration.ofSeconds(30);

		private PropagationMode propagation = PropagationMode.REQUEST;

		private ConnectionReuse reuse = ConnectionReuse.DEFAULTS;

		private @Nullable OutboundCalls calls;

		private StreamingResponses streams = StreamingResponses.DEFAULTS;

		private boolean quietDroppedErrors = true;

		private Builder(HangupClassifier classifier, HangupRecorder recorder) {
			Assert.notNull(classifier, "Classifier must not be null");
			Assert.notNull(recorder, "Recorder must not be null");
			this.classifier = classifier;
			this.recorder = recorder;
		}

		/**
		 * Set the response timeout of calls that set none of their own (with
		 * {@link HangupClientAttributes#RESPONSE_TIMEOUT}): the longest wait for the
		 * response and between two chunks of its body. Defaults to 30 seconds.
		 * @param responseTimeout the response timeout; {@link Duration#ZERO} for none
		 * @return this builder
		 * @since 0.4.0
		 */
		public Builder responseTimeout(Duration responseTimeout) {
			Assert.notNull(responseTimeout, "Response timeout must not be null");
			Assert.isTrue(!responseTimeout.isNegative(), "Response timeout must not be negative");
			this.responseTimeout = responseTimeout;
			return this;
		}

		/**
		 * Set how far a client leaving reaches into outbound calls. Defaults to
		 * {@link PropagationMode#REQUEST}: every call of the request stops.
		 * @param propagation the propagation mode
		 * @return this builder
		 * @since 0.4.0
		 */
		public Builder propagation(PropagationMode propagation) {
			Assert.notNull(propagation, "Propagation mode must not be null");
			this.propagation = propagation;
			return this;
		}

		/**
		 * Set how pooled keep-alive connections are kept from going stale, and what
		 * happens when one did. Defaults to {@link ConnectionReuse#DEFAULTS}.
		 * @param reuse the connection reuse settings
		 * @return this builder
		 * @since 0.4.0
		 */
		public Builder connectionReuse(ConnectionReuse reuse) {
			Assert.notNull(reuse, "Connection reuse must not be null");
			this.reuse = reuse;
			return this;
		}

		/**
		 * Set the counter of calls in flight, to share it with other integrations and
		 * read it. Defaults to a counter of this filter's own.
		 * @param calls counts the calls in flight
		 * @return this builder
		 * @since 0.4.0
		 */
		public Builder calls(OutboundCalls calls) {
			Assert.notNull(calls, "Outbound calls must not be null");
			this.calls = calls;
			return this;
		}

		/**
		 * Set which responses are streams, whose silences between chunks the response
		 * timeout does not cover. Defaults to {@link StreamingResponses#DEFAULTS}.
		 * @param streams the streaming responses settings
		 * @return this builder
		 * @since 0.4.0
		 */
		public Builder streamingResponses(StreamingResponses streams) {
			Assert.notNull(streams, "Streaming responses must not be null");
			this.streams = streams;
			return this;
		}

		/**
		 * Set whether to add, the first time a call is stopped, the Reactor
		 * {@code onErrorDropped} hook that logs a stopped call's unhandled error at DEBUG
		 * instead of ERROR (a process-wide change). Defaults to {@code true}.
		 * @param quietDroppedErrors whether to quiet dropped errors of stopped calls
		 * @return this builder
		 * @since 0.4.0
		 */
		public Builder quietDroppedErrors(boolean quietDroppedErrors) {
			this.quietDroppedErrors = quietDroppedErrors;
			return this;
		}

		/**
		 * Build the filter.
		 * @return a new filter with this builder's settings
		 * @since 0.4.0
		 */
		public HangupExchangeFilterFunction build() {
			return new HangupExchangeFilterFunction(this);
		}

	}

}
