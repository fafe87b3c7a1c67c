package io.github.hangup.gateway;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;
import java.util.function.BooleanSupplier;

import io.github.hangup.HangupClassifier;
import io.github.hangup.HangupEvent;
import io.github.hangup.HangupException;
import io.github.hangup.HangupKind;
import io.github.hangup.HangupPhase;
import io.github.hangup.HangupRecorder;
import io.github.hangup.HangupSide;
import io.github.hangup.server.InboundScope;
import org.jspecify.annotations.Nullable;
import org.reactivestreams.Subscription;
import reactor.netty.Connection;

import org.springframework.cloud.gateway.support.TimeoutException;

/**
 * One call that Gateway's {@code NettyRoutingFilter} makes to a route's upstream, from its
 * request to the end of its response body: records its hang-up at most once, under the
 * route's id, and takes part in the inbound request's scope.
 * <p>
 * As for a WebClient call, a cancel is only a hang-up when the inbound client left: a
 * cancelled call stays pending in the scope until the verdict.
 */
final class GatewayCall implements InboundScope.Participant {

	private static final int RUNNING = 0;

	private static final int CANCELLED_BEFORE_RESPONSE = 1;

	private static final int CANCELLED_DURING_RESPONSE = 2;

	private static final int FINISHED = 3;

	private static final AtomicIntegerFieldUpdater<GatewayCall> STATE = AtomicIntegerFieldUpdater
		.newUpdater(GatewayCall.class, "state");

	private final HangupClassifier classifier;

	private final HangupRecorder recorder;

	private final String method;

	private final String upstream;

	private final @Nullable InboundScope scope;

	private final boolean stopWithClient;

	/** Whether Gateway's routing filter took the call: before, it has not left. */
	private final BooleanSupplier routed;

	private final long startNanos = System.nanoTime();

	/** RUNNING, CANCELLED_BEFORE_RESPONSE, CANCELLED_DURING_RESPONSE or FINISHED. */
	private volatile int state = RUNNING;

	/** Told its client left while it ran on in CHAIN mode, and taken out of the scope. */
	private volatile boolean goneWhileRunning;

	/** The upstream's response head arrived: what follows is its body. */
	private volatile boolean responded;

	/** The request went out in full: an undecodable answer after it is the reply's fault. */
	private volatile boolean sent;

	/** The request body's own source failed, as when the inbound client left mid-upload. */
	private volatile @Nullable Throwable requestBodyError;

	/** The upstream connection, once the response head arrived, for a stop to close. */
	private volatile @Nullable Connection connection;

	/** What reads the call in the chain: the routing before the response, then the body. */
	private volatile @Nullable Subscription subscription;

	GatewayCall(HangupClassifier classifier, HangupRecorder recorder, String method, String upstream,
			@Nullable InboundScope scope, boolean stopWithClient, BooleanSupplier routed) {
		this.classifier = classifier;
		this.routed = routed;
		this.recorder = recorder;
		this.method = method;
		this.upstream = upstream;
		this.scope = scope;
		this.stopWithClient = stopWithClient;
	}

	/**
	 * Join the inbound request's scope.
	 * @return the error to end the call with when its request already ended (the call must
	 * not start), or {@code null}
	 */
	@Nullable HangupException join() {
		InboundScope inbound = this.scope;
		if (inbound != null && !inbound.join(this) && this.stopWithClient) {
			this.state = FINISHED;
			HangupKind kind = inbound.goneKind();
			record(kind, HangupPhase.BEFORE_RESPONSE, null);
			return HangupException.of(kind, HangupPhase.BEFORE_RESPONSE, this.method, this.upstream, null);
		}
		return null;
	}

	void subscribed(Subscription subscription) {
		this.subscription = subscription;
	}

	void requestSent() {
		this.sent = true;
	}

	void requestBodyFailed(Throwable error) {
		this.requestBodyError = error;
	}

	void responded(@Nullable Connection connection) {
		this.connection = connection;
		this.responded = true;
	}

	boolean isResponded() {
		return this.responded;
	}

	HangupPhase phase() {
		return this.responded ? HangupPhase.DURING_RESPONSE : HangupPhase.BEFORE_RESPONSE;
	}

	/**
	 * The call failed: record it once when it is a hang-up.
	 * @return what to signal instead: a {@link HangupException} for a hang-up, the error
	 * itself otherwise
	 */
	Throwable failed(Throwable error, HangupPhase phase) {
		if (!STATE.compareAndSet(this, RUNNING, FINISHED)) {
			return error;
		}
		leaveScope();
		if (error instanceof HangupException || !this.routed.getAsBoolean()) {
			// Already recorded (a WebClient call of a filter in between), or not the call's:
			// a filter between this one and Gateway's routing failed before the call left.
			return error;
		}
		HangupKind kind;
		Throwable cause = error;
		TimeoutException timeout = gatewayTimeout(error);
		if (timeout != null && this.requestBodyError == null) {
			// Gateway's own response timeout, which it turns into a 504 ResponseStatusException.
			// The cause is its TimeoutException, as a Retry filter looks for it there.
			kind = HangupKind.UPSTREAM_TIMEOUT;
			cause = timeout;
		}
		else if (this.requestBodyError != null) {
			// The body streamed from the inbound client failed first: whatever error of the
			// upstream connection follows, the call ended because its client left.
			kind = inboundEnded();
			if (kind == null) {
				return error;
			}
		}
		else {
			kind = classify(error, phase);
			if (kind == null || !kind.isUpstream()) {
				return error;
			}
		}
		record(kind, phase, cause);
		return HangupException.of(kind, phase, this.method, this.upstream, cause);
	}

	/**
	 * The kind of a failure caused by the inbound request ending, or {@code null} when the
	 * request body failed for another reason (the application's own error).
	 */
	private @Nullable HangupKind inboundEnded() {
		InboundScope inbound = this.scope;
		if (inbound != null && inbound.isClientGone()) {
			return inbound.goneKind();
		}
		Throwable bodyError = this.requestBodyError;
		return (bodyError != null && this.classifier.classify(bodyError, HangupSide.INBOUND) == HangupKind.CLIENT_CANCEL)
				? HangupKind.CLIENT_CANCEL : null;
	}

	/**
	 * The upstream's reply is no answer that may be relayed (a status outside 200-599).
	 * @return the error to end the call with
	 */
	Throwable rejected(IllegalArgumentException invalid) {
		Connection current = this.connection;
		if (current != null) {
			current.dispose();
		}
		if (!STATE.compareAndSet(this, RUNNING, FINISHED)) {
			return invalid;
		}
		leaveScope();
		record(HangupKind.UPSTREAM_PROTOCOL_ERROR, HangupPhase.BEFORE_RESPONSE, invalid);
		return HangupException.of(HangupKind.UPSTREAM_PROTOCOL_ERROR, HangupPhase.BEFORE_RESPONSE, this.method,
				this.upstream, invalid);
	}

	private @Nullable HangupKind classify(Throwable error, HangupPhase phase) {
		HangupKind kind = this.classifier.classify(error, HangupSide.OUTBOUND);
		if (kind == null && isMalformedReply(error, phase)) {
			kind = HangupKind.UPSTREAM_PROTOCOL_ERROR;
		}
		return kind;
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
	 * Netty's HTTP decoder reports some replies it cannot parse (a status that is no number)
	 * as an {@code IllegalArgumentException}: after the request went out, that is the
	 * reply's fault.
	 */
	private boolean isMalformedReply(Throwable error, HangupPhase phase) {
		if (phase == HangupPhase.BEFORE_RESPONSE && !this.sent) {
			return false;
		}
		int depth = 0;
		for (Throwable t = error; t != null && depth < 8; t = (t.getCause() != t) ? t.getCause() : null, depth++) {
			if (t instanceof IllegalArgumentException) {
				return true;
			}
		}
		return false;
	}

	/**
	 * The call was cancelled from downstream: a hang-up if, and only if, its client left.
	 */
	void cancelled(HangupPhase phase) {
		InboundScope inbound = this.scope;
		if (inbound == null || !this.routed.getAsBoolean()) {
			// Not attributed, or cancelled before Gateway's routing took it: no call left.
			if (STATE.compareAndSet(this, RUNNING, FINISHED)) {
				leaveScope();
			}
			return;
		}
		for (;;) {
			if (this.state != RUNNING) {
				return;
			}
			if (inbound.isClientGone()) {
				if (STATE.compareAndSet(this, RUNNING, FINISHED)) {
					leaveScope();
					record(inbound.goneKind(), phase, null);
					return;
				}
			}
			else if (STATE.compareAndSet(this, RUNNING,
					(phase == HangupPhase.BEFORE_RESPONSE) ? CANCELLED_BEFORE_RESPONSE : CANCELLED_DURING_RESPONSE)) {
				// The scope sets its flag, then looks for cancelled calls; this call changed its
				// state, then looks at the flag: one of the two sees the other, and the one
				// that removes the call from the scope tells it.
				if (inbound.isClientGone() && (inbound.leave(this) || this.goneWhileRunning)) {
					onClientGone();
				}
				return;
			}
		}
	}

	/**
	 * The call ended without a hang-up: its body was read in full, or the request went on
	 * without reading it.
	 */
	void finished() {
		if (STATE.compareAndSet(this, RUNNING, FINISHED)) {
			leaveScope();
		}
	}

	boolean isRunning() {
		return this.state == RUNNING;
	}

	@Override
	public String upstream() {
		return this.upstream;
	}

	@Override
	public boolean isCancelled() {
		int current = this.state;
		return current == CANCELLED_BEFORE_RESPONSE || current == CANCELLED_DURING_RESPONSE;
	}

	@Override
	public void onClientGone() {
		InboundScope inbound = this.scope;
		HangupKind kind = (inbound != null) ? inbound.goneKind() : HangupKind.CLIENT_CANCEL;
		for (;;) {
			int current = this.state;
			if (current == CANCELLED_BEFORE_RESPONSE || current == CANCELLED_DURING_RESPONSE) {
				if (STATE.compareAndSet(this, current, FINISHED)) {
					record(kind, (current == CANCELLED_BEFORE_RESPONSE) ? HangupPhase.BEFORE_RESPONSE
							: HangupPhase.DURING_RESPONSE, null);
					return;
				}
			}
			else if (current == RUNNING && this.stopWithClient) {
				if (STATE.compareAndSet(this, RUNNING, FINISHED)) {
					if (this.routed.getAsBoolean()) {
						record(kind, phase(), null);
						stop();
					}
					return;
				}
			}
			else if (current == RUNNING && !this.goneWhileRunning) {
				// Running on in CHAIN mode, and no longer in the scope: a cancel that read the
				// client as still there before it changed its state cannot claim the call by
				// leaving the scope. It reads this flag after its change; this looks at its
				// change again after the flag: one of the two sees the other.
				this.goneWhileRunning = true;
			}
			else {
				return;
			}
		}
	}

	/**
	 * Stop a call its request no longer waits for: the cancel that went down the chain
	 * missed it (its response had arrived and nobody read its body yet).
	 */
	private void stop() {
		Subscription current = this.subscription;
		if (current != null) {
			current.cancel();
		}
		Connection upstreamConnection = this.connection;
		if (upstreamConnection != null) {
			upstreamConnection.dispose();
		}
	}

	private void leaveScope() {
		InboundScope inbound = this.scope;
		if (inbound != null) {
			inbound.leave(this);
		}
	}

	private void record(HangupKind kind, HangupPhase phase, @Nullable Throwable cause) {
		Duration elapsed = Duration.ofNanos(System.nanoTime() - this.startNanos);
		this.recorder
			.record(HangupEvent.outbound(kind, phase, this.method, elapsed).upstream(this.upstream).cause(cause).build());
	}

}
