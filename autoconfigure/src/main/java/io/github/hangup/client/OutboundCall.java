package io.github.hangup.client;

import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

import io.github.hangup.HangupClassifier;
import io.github.hangup.HangupEvent;
import io.github.hangup.HangupException;
import io.github.hangup.HangupKind;
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
 * State of one outbound exchange (one subscription): records its hang-up at most once and,
 * in {@link PropagationMode#REQUEST}, stops it when the inbound client leaves.
 * <p>
 * A cancel is only a hang-up when the inbound client left. A cancel can arrive before the
 * server side knows (a failed write to the dead client cancels the upstream body before the
 * error reaches the server components), so such a cancel stays pending in the inbound scope
 * until the verdict: {@link #onClientGone()} records it, a normal end of the request drops it.
 * <p>
 * Its {@link CallState} decides every transition; its downstream sees a
 * {@link CallSubscriber}, its connector a {@link CallRequest}.
 */
final class OutboundCall implements InboundScope.Participant {

	/** A pooled connection found closed before the call could be written on it; its past is unknown. */
	static final UpstreamConnection CLOSED_IN_POOL = new UpstreamConnection(true, Duration.ZERO, 0);

	/** The most retries of one call, each after a failure on a reused connection. */
	static final int MAX_RETRIES = 3;

	private final HangupClassifier classifier;

	private final HangupRecorder recorder;

	private final String method;

	private final String upstream;

	private final @Nullable InboundScope scope;

	private final boolean stopWithClient;

	private final AtomicInteger inFlight;

	private final long startNanos = System.nanoTime();

	private final CallState state = new CallState();

	/** The request body's own source failed, as when the inbound client left mid-upload. */
	private volatile @Nullable Throwable requestBodyError;

	/** Set by {@link #start}, before anything can signal the call. */
	@SuppressWarnings("NullAway.Init")
	private CallSubscriber subscriber;

	/** Set by {@link #start}, before anything can signal the call. */
	@SuppressWarnings("NullAway.Init")
	private ResponseTimeout timeout;

	private volatile @Nullable HangupKind recorded;

	/** Told its client left while it ran on in CHAIN mode, and taken out of the scope. */
	private volatile boolean goneWhileRunning;

	/** WebClient's observation of this call, if any. */
	private @Nullable ClientRequestObservationContext observed;

	private ConnectionReuse reuse = ConnectionReuse.DEFAULTS;

	/** The idle pooled connections to this call's upstream. */
	private Set<Object> idle = Set.of();

	/** The connector's request of the attempt being written or answered. */
	private volatile @Nullable Object nativeRequest;

	/** The pooled connection of that attempt, when known. */
	private volatile @Nullable UpstreamConnection connection;

	/** Attempts written, Reactor Netty's own retries included; only the event loop writes it. */
	private volatile int writes;

	/** Retries sent so far; each follows the failure of the attempt before it. */
	private volatile int retries;

	/** {@link #writes} when the current attempt started. */
	private volatile int attemptWrites;

	private volatile @Nullable String keepAlive;

	OutboundCall(HangupClassifier classifier, HangupRecorder recorder, String method, String upstream,
			@Nullable InboundScope scope, boolean stopWithClient, AtomicInteger inFlight) {
		this.classifier = classifier;
		this.recorder = recorder;
		this.method = method;
		this.upstream = upstream;
		this.scope = scope;
		this.stopWithClient = stopWithClient;
		this.inFlight = inFlight;
	}

	/**
	 * Start the exchange for {@code actual}, which sees the call's {@link CallSubscriber}.
	 */
	void start(ClientRequest request, ExchangeFunction next, Duration timeout,
			CoreSubscriber<? super ClientResponse> actual) {
		start(request, next, timeout, ConnectionReuse.DEFAULTS, ConcurrentHashMap.newKeySet(), actual);
	}

	/**
	 * Start the exchange for {@code actual}, keeping its pooled connections as {@code reuse}
	 * says.
	 */
	void start(ClientRequest request, ExchangeFunction next, Duration timeout, ConnectionReuse reuse,
			Set<Object> idle, CoreSubscriber<? super ClientResponse> actual) {
		this.reuse = reuse;
		this.idle = idle;
		this.subscriber = new CallSubscriber(this, this.state, actual);
		this.timeout = new ResponseTimeout(this.subscriber, this.state, timeout);
		this.inFlight.incrementAndGet();
		if (this.scope != null && !this.scope.join(this) && this.stopWithClient) {
			// Subscribed after its client left: do not start it at all, but tell its subscriber.
			// The scope may have stopped it while it joined: the hang-up counts once.
			boolean first = this.state.finish();
			end();
			HangupKind kind = this.scope.goneKind();
			if (first) {
				record(kind, HangupPhase.BEFORE_RESPONSE, null);
			}
			this.subscriber.refuse(HangupException.of(kind, HangupPhase.BEFORE_RESPONSE, this.method, this.upstream, null));
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

	/**
	 * An attempt is being written to the connector's request: learn its connection, once per
	 * attempt (Reactor Netty writes the request again when it retries by itself).
	 */
	@SuppressWarnings("NonAtomicVolatileUpdate") // only the connection's event loop writes
	void connected(ClientHttpRequest httpRequest) {
		Object nativeRequest = httpRequest.getNativeRequest();
		Object previous = this.nativeRequest;
		if (nativeRequest == previous) {
			return;
		}
		this.nativeRequest = nativeRequest;
		// Reactor Netty retries by itself a request whose connection closed before it was
		// sent; when another call's retry closed that connection, the upstream never saw the
		// request, and the attempt counts as written once.
		if (previous == null || this.writes == this.attemptWrites || !PooledConnections.isClosedForRetry(previous)) {
			this.writes++;
		}
		this.connection = PooledConnections.acquired(nativeRequest);
	}

	/** The response arrived: remember how long the upstream keeps its connection. */
	void responded(ClientResponse response) {
		this.keepAlive = response.headers().asHttpHeaders().getFirst("Keep-Alive");
	}

	/**
	 * Exchange the request and, when its attempt failed on a stale connection, once more.
	 * The retry happens inside the one exchange the call's subscriber sees, which gets only
	 * the final outcome.
	 */
	Mono<ClientResponse> exchange(ExchangeFunction next, ClientRequest view) {
		Mono<ClientResponse> response = next.exchange(view);
		return this.reuse.retry() ? retryIfStale(response, next, view, ConnectionReuse.isReplayable(view)) : response;
	}

	/**
	 * The retry is meant for a new connection, but the pool hands out whatever idle one it
	 * has: one released by another call since the idle ones were closed may be stale too.
	 * A retry that failed on a reused connection is then tried again, as Go's transport
	 * does, at most {@link #MAX_RETRIES} times; one that failed on a new connection never.
	 */
	@SuppressWarnings("NonAtomicVolatileUpdate") // attempts follow one another
	private Mono<ClientResponse> retryIfStale(Mono<ClientResponse> response, ExchangeFunction next, ClientRequest view,
			boolean replayable) {
		return response.onErrorResume((error) -> {
			UpstreamConnection failedOn = staleConnection(error, replayable);
			// A retry gets what is left of the call's response timeout, not a fresh one.
			if (failedOn == null || !this.timeout.retrying()) {
				return Mono.error(error);
			}
			this.retries++;
			this.attemptWrites = this.writes;
			this.recorder.retried(new HangupRetry(this.method, this.upstream, HangupRetry.STALE_CONNECTION, failedOn, error));
			return retryIfStale(PooledConnections.closeIdle(this.idle).then(Mono.defer(() -> next.exchange(view))),
					next, view, replayable);
		});
	}

	/**
	 * The stale connection a failed first attempt went out on, if the failure proves the
	 * upstream never saw the request and it may go again: while the call still runs, its
	 * client is still there, it was retried fewer than {@link #MAX_RETRIES} times and
	 * Reactor Netty did not retry this attempt by itself, either
	 * <ul>
	 * <li>it was never written, because the pool had only closed connections to hand out
	 * (any request: not a byte of it, body included, was sent), or</li>
	 * <li>a replayable request was reset before any response byte on a reused
	 * connection.</li>
	 * </ul>
	 * @return the connection, or {@code null} when the call must not go again
	 */
	private @Nullable UpstreamConnection staleConnection(Throwable error, boolean replayable) {
		if (this.retries >= MAX_RETRIES || this.state.isSignalled() || this.state.isEnded()
				|| (this.scope != null && this.scope.isClientGone()) || error instanceof HangupException) {
			return null;
		}
		// Writes of this attempt: more than one when Reactor Netty retried it by itself.
		int written = this.writes - this.attemptWrites;
		if (written == 0) {
			return PooledConnections.isClosedPool(error) ? CLOSED_IN_POOL : null;
		}
		UpstreamConnection failedOn = this.connection;
		if (!replayable || written != 1 || failedOn == null || !failedOn.reused()) {
			return null;
		}
		HangupKind kind = CallFailures.kind(error, HangupPhase.BEFORE_RESPONSE, this.classifier, this.scope,
				this.requestBodyError, this.timeout.isRequestSent());
		return (kind == HangupKind.UPSTREAM_RESET) ? failedOn : null;
	}

	void requestBodyFailed(Throwable error) {
		this.requestBodyError = error;
	}

	/**
	 * The exchange failed: finish the call and, if the failure is a hang-up, record it.
	 * @return what the call's downstream gets
	 */
	Throwable failed(Throwable error, HangupPhase phase) {
		end();
		if (!this.state.finish()) {
			return error;
		}
		leaveScope();
		if (error instanceof HangupException) {
			// Already translated and recorded by a filter closer to the connector.
			return error;
		}
		HangupKind kind = CallFailures.kind(error, phase, this.classifier, this.scope, this.requestBodyError,
				this.timeout.isRequestSent());
		if (kind == null) {
			return error;
		}
		record(kind, phase, error);
		return HangupException.of(kind, phase, this.method, this.upstream, error, this.connection);
	}

	/** The call's downstream or its body's reader cancelled. */
	void cancelled() {
		end();
		InboundScope inbound = this.scope;
		if (inbound == null) {
			return;
		}
		if (inbound.isClientGone()) {
			if (this.state.finish()) {
				leaveScope();
				record(inbound.goneKind(), this.state.phase(), null);
			}
		}
		else if (this.state.cancel()) {
			// The scope sets its flag, then looks for cancelled calls; this call changed its
			// state, then looks at the flag: one of the two sees the other, and the one
			// that removes the call from the scope tells it.
			if (inbound.isClientGone() && (inbound.leave(this) || this.goneWhileRunning)) {
				onClientGone();
			}
		}
	}

	/** The body was read to its end: the connection goes back to the pool. */
	void finished() {
		end();
		if (this.state.finish()) {
			leaveScope();
		}
		Object nativeRequest = this.nativeRequest;
		if (nativeRequest != null) {
			PooledConnections.released(nativeRequest, this.keepAlive, this.reuse.maxIdleTime(), this.idle);
		}
	}

	@Override
	public void onClientGone() {
		HangupKind kind = (this.scope != null) ? this.scope.goneKind() : HangupKind.CLIENT_CANCEL;
		int before = this.state.clientGone(this.stopWithClient);
		if (before == CallState.UNCHANGED) {
			if (this.stopWithClient) {
				return;
			}
			// Finished, or running in CHAIN mode, and no longer in the scope: a cancel that
			// read the client as still there before it changed its state cannot claim the
			// call by leaving the scope. It reads this flag after its change, this reads its
			// change after the flag: one of the two sees the other.
			this.goneWhileRunning = true;
			before = this.state.clientGone(false);
			if (before == CallState.UNCHANGED) {
				return;
			}
		}
		HangupPhase phase = this.state.phase();
		record(kind, phase, null);
		if (!CallState.wasCancelled(before)) {
			this.subscriber.stop(HangupException.of(kind, phase, this.method, this.upstream, null));
		}
	}

	@Override
	public boolean isCancelled() {
		return this.state.isCancelled();
	}

	@Override
	public String upstream() {
		return this.upstream;
	}

	/** The call no longer counts as in flight. */
	void end() {
		if (this.state.end()) {
			this.inFlight.decrementAndGet();
			this.timeout.disarm();
		}
	}

	private void leaveScope() {
		if (this.scope != null) {
			this.scope.leave(this);
		}
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

	/**
	 * The kind for the call's observation, which may end before this call learns of a cancel.
	 */
	@Nullable HangupKind observedKind(boolean aborted) {
		HangupKind kind = this.recorded;
		if (kind == null && aborted && this.scope != null && this.scope.isClientGone()) {
			kind = this.scope.goneKind();
		}
		return kind;
	}

	private void record(HangupKind kind, HangupPhase phase, @Nullable Throwable cause) {
		this.recorded = kind;
		Duration elapsed = Duration.ofNanos(System.nanoTime() - this.startNanos);
		this.recorder
			.record(HangupEvent.outbound(kind, phase, this.method, elapsed)
				.upstream(this.upstream)
				.cause(cause)
				.connection(this.connection)
				.build());
	}

}
