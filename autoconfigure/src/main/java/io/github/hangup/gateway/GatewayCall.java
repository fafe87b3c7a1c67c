package io.github.hangup.gateway;

import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;
import java.util.function.BooleanSupplier;

import io.github.hangup.HangupClassifier;
import io.github.hangup.HangupException;
import io.github.hangup.HangupKind;
import io.github.hangup.HangupPhase;
import io.github.hangup.HangupRecorder;
import io.github.hangup.HangupRetry;
import io.github.hangup.UpstreamConnection;
import io.github.hangup.client.AbstractOutboundCall;
import io.github.hangup.client.OutboundCalls;
import io.github.hangup.server.InboundScope;
import org.jspecify.annotations.Nullable;
import org.reactivestreams.Subscription;
import reactor.netty.Connection;

import org.springframework.cloud.gateway.support.TimeoutException;

/**
 * One call that Gateway's {@code NettyRoutingFilter} makes to a route's upstream, from
 * its request to the end of its response body: its verdict is an
 * {@link AbstractOutboundCall}'s, as for a WebClient call, under the route's id.
 * Gateway's own response timeout counts as the upstream's.
 */
final class GatewayCall extends AbstractOutboundCall {

	private static final AtomicIntegerFieldUpdater<GatewayCall> ENDED = AtomicIntegerFieldUpdater
		.newUpdater(GatewayCall.class, "ended");

	/** Whether Gateway's routing filter took the call: before, it has not left. */
	private final BooleanSupplier routed;

	/** The upstream's response head arrived: what follows is its body. */
	private volatile boolean responded;

	/**
	 * The request started to go out: an undecodable answer after that is the reply's
	 * fault.
	 */
	private volatile boolean started;

	/** The upstream connection, once the response head arrived, for a stop to close. */
	private volatile @Nullable Connection connection;

	/**
	 * What reads the call in the chain: the routing before the response, then the body.
	 */
	private volatile @Nullable Subscription subscription;

	/** 1 once the call no longer counts as in flight. */
	private volatile int ended;

	/** The pooled connection the latest attempt went out on, when known. */
	private volatile @Nullable UpstreamConnection upstreamConnection;

	/**
	 * Attempts written, Reactor Netty's own resends included; only an event loop writes
	 * it.
	 */
	private volatile int writes;

	/** {@link #writes} when the current attempt started. */
	private volatile int attemptWrites;

	/** Retries sent so far, each after a stale connection. */
	private volatile int retries;

	GatewayCall(HangupClassifier classifier, HangupRecorder recorder, String method, String upstream,
			@Nullable InboundScope scope, boolean stopWithClient, BooleanSupplier routed, OutboundCalls calls) {
		super(classifier, recorder, method, upstream, scope, stopWithClient, calls);
		this.routed = routed;
		countStarted();
	}

	/**
	 * Join the inbound request's scope.
	 * @return the error to end the call with when its request already ended (the call
	 * must not start), or {@code null}
	 */
	@Nullable HangupException join() {
		HangupException refused = joinScope();
		if (refused != null) {
			end();
		}
		return refused;
	}

	void subscribed(Subscription subscription) {
		this.subscription = subscription;
	}

	/**
	 * An attempt starts to go out on {@code connection}: learn whether it is new or
	 * reused.
	 */
	@SuppressWarnings("NonAtomicVolatileUpdate") // attempts follow one another
	void requestStarted(Object connection) {
		this.started = true;
		this.writes++;
		this.upstreamConnection = acquired(connection);
	}

	/**
	 * The attempt failed: whether it failed on a stale connection and the call goes
	 * again, counted as a retry.
	 * @param replayable whether the request may be sent twice
	 */
	@SuppressWarnings("NonAtomicVolatileUpdate") // attempts follow one another
	boolean retry(Throwable error, boolean replayable) {
		UpstreamConnection failedOn = staleAttempt(error, this.retries, this.writes - this.attemptWrites,
				this.upstreamConnection, replayable);
		if (failedOn == null) {
			return false;
		}
		this.retries++;
		this.attemptWrites = this.writes;
		recorder().retried(new HangupRetry(method(), upstream(), HangupRetry.STALE_CONNECTION, failedOn, error));
		return true;
	}

	/** Whether a request may be sent twice, as {@link #isReplayable} says. */
	static boolean replayable(org.springframework.http.HttpMethod method, org.springframework.http.HttpHeaders headers,
			boolean body) {
		return isReplayable(method, headers, body);
	}

	@Override
	protected boolean isRetryable() {
		return !this.responded && this.ended == 0 && !isClientGone();
	}

	@Override
	protected @Nullable UpstreamConnection connection() {
		return this.upstreamConnection;
	}

	void responded(@Nullable Connection connection) {
		this.connection = connection;
		this.responded = true;
	}

	boolean isResponded() {
		return this.responded;
	}

	@Override
	public HangupPhase phase() {
		return this.responded ? HangupPhase.DURING_RESPONSE : HangupPhase.BEFORE_RESPONSE;
	}

	/**
	 * Whether the request started to go out, which is what tells a reply's fault from the
	 * request's here: Netty refuses a request of ours before it starts to write it.
	 */
	@Override
	protected boolean isRequestSent() {
		return this.started;
	}

	@Override
	protected boolean hasLeft() {
		return this.routed.getAsBoolean();
	}

	/**
	 * The call failed: record it once when it is a hang-up.
	 * @return what to signal instead: a {@link HangupException} for a hang-up, the error
	 * itself otherwise
	 */
	Throwable failed(Throwable error, HangupPhase phase) {
		// Gateway turns its own response timeout into a 504 ResponseStatusException; the
		// hang-up's cause is its TimeoutException, where a Retry filter looks for it.
		end();
		TimeoutException timeout = isRequestBodyFailed() ? null : gatewayTimeout(error);
		return failCall((timeout != null) ? timeout : error, phase);
	}

	@Override
	protected @Nullable HangupKind kind(Throwable error, HangupPhase phase) {
		return (error instanceof TimeoutException) ? HangupKind.UPSTREAM_TIMEOUT : super.kind(error, phase);
	}

	private static @Nullable TimeoutException gatewayTimeout(Throwable error) {
		int depth = 0;
		for (Throwable t = error; t != null && depth < 8; t = (t.getCause() != t) ? t.getCause() : null, depth++) {
			if (t instanceof TimeoutException timeout) {
				return timeout;
			}
		}
		return null;
	}

	/**
	 * The upstream's reply is no answer that may be relayed (a status outside 200-599).
	 * @return the error to end the call with
	 */
	Throwable rejected(IllegalArgumentException invalid) {
		end();
		Connection current = this.connection;
		if (current != null) {
			current.dispose();
		}
		if (!finishCall()) {
			return invalid;
		}
		record(HangupKind.UPSTREAM_PROTOCOL_ERROR, HangupPhase.BEFORE_RESPONSE, invalid);
		return HangupException.of(HangupKind.UPSTREAM_PROTOCOL_ERROR, HangupPhase.BEFORE_RESPONSE, method(), upstream(),
				invalid);
	}

	/**
	 * The call was cancelled from downstream: a hang-up if, and only if, its client left.
	 */
	void cancelled(HangupPhase phase) {
		end();
		cancelCall(phase);
	}

	/**
	 * The call ended without a hang-up: its body was read in full, or the request went on
	 * without reading it.
	 */
	void finished() {
		end();
		finishCall();
	}

	/** The call no longer counts as in flight, whichever way it ended. */
	private void end() {
		if (ENDED.compareAndSet(this, 0, 1)) {
			countEnded();
		}
	}

	/**
	 * Stop a call its request no longer waits for: the cancel that went down the chain
	 * missed it (its response had arrived and nobody read its body yet).
	 */
	@Override
	protected void stop(HangupException stopped) {
		end();
		Subscription current = this.subscription;
		if (current != null) {
			current.cancel();
		}
		Connection upstreamConnection = this.connection;
		if (upstreamConnection != null) {
			upstreamConnection.dispose();
		}
	}

}
