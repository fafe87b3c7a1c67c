package io.github.hangup.client;

import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import io.github.hangup.HangupClassifier;
import io.github.hangup.HangupException;
import io.github.hangup.HangupPhase;
import io.github.hangup.HangupRecorder;
import io.github.hangup.HangupRetry;
import io.github.hangup.UpstreamConnection;
import io.github.hangup.server.InboundScope;
import io.micrometer.observation.Observation;
import org.jspecify.annotations.Nullable;
import reactor.core.CoreSubscriber;
import reactor.core.publisher.Mono;

import org.springframework.http.client.reactive.ClientHttpRequest;
import org.springframework.web.reactive.function.client.ClientRequest;
import org.springframework.web.reactive.function.client.ClientRequestObservationContext;
import org.springframework.web.reactive.function.client.ClientResponse;
import org.springframework.web.reactive.function.client.ExchangeFunction;

/**
 * One outbound exchange (one subscription) of a WebClient: its verdict is an
 * {@link AbstractOutboundCall}'s; in {@link PropagationMode#REQUEST} it stops when the
 * inbound client leaves. Its {@link CallState} decides what its downstream is told; its
 * downstream sees a {@link CallSubscriber}, its connector a {@link CallRequest}, and a
 * failed attempt on a stale connection goes again through its {@link StaleRetry}.
 */
final class OutboundCall extends AbstractOutboundCall {

	private final CallState state = new CallState();

	/** Set by {@link #start}, before anything can signal the call. */
	@SuppressWarnings("NullAway.Init")
	private CallSubscriber subscriber;

	/** Set by {@link #start}, before anything can signal the call. */
	@SuppressWarnings("NullAway.Init")
	private ResponseTimeout timeout;

	/** WebClient's observation of this call, if any. */
	private @Nullable ClientRequestObservationContext observed;

	/** Set by {@link #start}, before anything can signal the call. */
	@SuppressWarnings("NullAway.Init")
	private StaleRetry retry;

	/** Whether a stopped call's unhandled error is kept out of Reactor's ERROR line. */
	private final boolean quietDroppedErrors;

	OutboundCall(HangupClassifier classifier, HangupRecorder recorder, String method, String upstream,
			@Nullable InboundScope scope, boolean stopWithClient, OutboundCalls calls) {
		this(classifier, recorder, method, upstream, scope, stopWithClient, calls, true);
	}

	OutboundCall(HangupClassifier classifier, HangupRecorder recorder, String method, String upstream,
			@Nullable InboundScope scope, boolean stopWithClient, OutboundCalls calls, boolean quietDroppedErrors) {
		super(classifier, recorder, method, upstream, scope, stopWithClient, calls);
		this.quietDroppedErrors = quietDroppedErrors;
	}

	/** The call is being stopped: its error may reach a subscriber that handles none. */
	void stopping() {
		if (this.quietDroppedErrors) {
			StoppedCalls.quietWhenDropped();
		}
	}

	/**
	 * Start the exchange for {@code actual}, which sees the call's
	 * {@link CallSubscriber}.
	 */
	void start(ClientRequest request, ExchangeFunction next, Duration timeout,
			CoreSubscriber<? super ClientResponse> actual) {
		start(request, next, timeout, ConnectionReuse.DEFAULTS, StreamingResponses.DEFAULTS,
				ConcurrentHashMap.newKeySet(), actual);
	}

	/**
	 * Start the exchange for {@code actual}, keeping its pooled connections as
	 * {@code reuse} says and timing a streaming body as {@code streams} says.
	 */
	void start(ClientRequest request, ExchangeFunction next, Duration timeout, ConnectionReuse reuse,
			StreamingResponses streams, Set<Object> idle, CoreSubscriber<? super ClientResponse> actual) {
		this.retry = new StaleRetry(this, reuse, idle);
		this.subscriber = new CallSubscriber(this, this.state, actual);
		this.timeout = new ResponseTimeout(this.subscriber, this.state, timeout, streams);
		countStarted();
		HangupException refused = joinScope();
		if (refused != null) {
			// Subscribed after its client left: do not start it at all, but tell its
			// subscriber.
			end();
			this.subscriber.refuse(refused);
			return;
		}
		this.timeout.armBeforeConnection();
		this.subscriber.exchange(request, next);
	}

	CallSubscriber subscriber() {
		return this.subscriber;
	}

	ResponseTimeout timeout() {
		return this.timeout;
	}

	@Nullable ClientRequestObservationContext observed() {
		return this.observed;
	}

	/** An attempt is being written to the connector's request. */
	void connected(ClientHttpRequest httpRequest) {
		this.retry.connected(httpRequest);
	}

	/** The response arrived: remember how long the upstream keeps its connection. */
	void responded(ClientResponse response) {
		this.retry.responded(response);
	}

	/**
	 * Exchange the request and, when its attempt failed on a stale connection, again. The
	 * retry happens inside the one exchange the call's subscriber sees, which gets only
	 * the final outcome.
	 */
	Mono<ClientResponse> exchange(ExchangeFunction next, ClientRequest view) {
		return this.retry.exchange(next, view);
	}

	/**
	 * The exchange failed: finish the call and, if the failure is a hang-up, record it.
	 * @return what the call's downstream gets
	 */
	Throwable failed(Throwable error, HangupPhase phase) {
		end();
		return failCall(error, phase);
	}

	/** The call's downstream or its body's reader cancelled. */
	void cancelled() {
		end();
		cancelCall(this.state.phase());
	}

	/**
	 * The exchange completed without a response (a filter nearer the connector gave
	 * none).
	 */
	void completedEmpty() {
		end();
		finishCall();
	}

	/** The body was read to its end: the connection goes back to the pool. */
	void finished() {
		end();
		finishCall();
		this.retry.released();
	}

	/** The call no longer counts as in flight. */
	void end() {
		if (this.state.end()) {
			countEnded();
			this.timeout.disarm();
		}
	}

	@Override
	protected boolean isRetryable() {
		return !this.state.isSignalled() && !this.state.isEnded() && !isClientGone();
	}

	void retried(HangupRetry retry) {
		recorder().retried(retry);
	}

	@Override
	protected HangupPhase phase() {
		return this.state.phase();
	}

	/**
	 * Whether the request started to go out on a connection, which is what tells a
	 * reply's fault from the request's: an upstream may answer as soon as it has the
	 * request's head, while the body still streams.
	 */
	@Override
	protected boolean isRequestSent() {
		return this.retry.isWritten();
	}

	@Override
	protected boolean isAwaitedByAnother() {
		TrackedBody body = this.subscriber.body();
		return SharedCalls.isAwaitedByAnother(scope(), this.subscriber.downstream(),
				(body != null) ? body.downstream() : null);
	}

	@Override
	protected void stop(HangupException stopped) {
		this.subscriber.stop(stopped);
	}

	@Override
	protected @Nullable UpstreamConnection connection() {
		return this.retry.connection();
	}

	/**
	 * Make the call known to its observation, for the {@code hangup} key.
	 */
	void observe(Observation observation) {
		observation.getContext().put(OutboundCall.class, this);
		if (observation.getContext() instanceof ClientRequestObservationContext context) {
			this.observed = context;
		}
	}

}
