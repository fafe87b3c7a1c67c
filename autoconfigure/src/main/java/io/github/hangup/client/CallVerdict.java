package io.github.hangup.client;

import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;

import io.github.hangup.HangupException;
import io.github.hangup.HangupKind;
import io.github.hangup.HangupPhase;
import io.github.hangup.server.InboundScope;
import org.jspecify.annotations.Nullable;

/**
 * Whether the end of an {@link AbstractOutboundCall} is a hang-up, decided once in one
 * state word that only these compare-and-set loops change: <pre>
 * RUNNING -&gt; FINISHED                                                          finish
 * RUNNING -&gt; CANCELLED_BEFORE_RESPONSE | CANCELLED_DURING_RESPONSE -&gt; FINISHED  cancel, clientGone
 * </pre> A cancelled call waits for the scope's verdict on its client: a hang-up if it
 * left.
 */
final class CallVerdict {

	private static final int RUNNING = 0;

	private static final int CANCELLED_BEFORE_RESPONSE = 1;

	private static final int CANCELLED_DURING_RESPONSE = 2;

	private static final int FINISHED = 3;

	private static final AtomicIntegerFieldUpdater<CallVerdict> STATE = AtomicIntegerFieldUpdater
		.newUpdater(CallVerdict.class, "state");

	private final AbstractOutboundCall call;

	private volatile int state = RUNNING;

	/** Told its client left while it ran on in CHAIN mode, and taken out of the scope. */
	private volatile boolean goneWhileRunning;

	CallVerdict(AbstractOutboundCall call) {
		this.call = call;
	}

	/** Running to finished. @return whether this caller finished the call */
	private boolean finishRunning() {
		return STATE.compareAndSet(this, RUNNING, FINISHED);
	}

	/**
	 * Running to finished, out of the scope. @return whether this caller finished the
	 * call
	 */
	boolean finish(@Nullable InboundScope scope) {
		if (finishRunning()) {
			leave(scope);
			return true;
		}
		return false;
	}

	/**
	 * Join the call to its request's scope.
	 * @return the error to end the call with when its client already left and the call
	 * stops with it, or {@code null}
	 */
	@Nullable HangupException join(@Nullable InboundScope scope, boolean stopWithClient) {
		if (scope == null || scope.join(this.call) || !stopWithClient) {
			return null;
		}
		// The scope may have stopped the call while it joined: the hang-up counts once.
		HangupKind kind = scope.goneKind();
		if (finishRunning()) {
			this.call.record(kind, HangupPhase.BEFORE_RESPONSE, null);
		}
		return HangupException.of(kind, HangupPhase.BEFORE_RESPONSE, this.call.method(), this.call.upstream(), null);
	}

	boolean isCancelled() {
		int current = this.state;
		return current == CANCELLED_BEFORE_RESPONSE || current == CANCELLED_DURING_RESPONSE;
	}

	/**
	 * The call was cancelled from downstream in {@code phase}: a hang-up now if its
	 * client left, otherwise pending until the scope's verdict.
	 */
	void cancel(@Nullable InboundScope inbound, HangupPhase phase) {
		if (inbound == null || !this.call.hasLeft()) {
			finish(inbound);
			return;
		}
		int cancelled = (phase == HangupPhase.BEFORE_RESPONSE) ? CANCELLED_BEFORE_RESPONSE : CANCELLED_DURING_RESPONSE;
		while (this.state == RUNNING) {
			if (inbound.isClientGone()) {
				if (finishRunning()) {
					leave(inbound);
					this.call.record(inbound.goneKind(), phase, null);
					return;
				}
			}
			else if (STATE.compareAndSet(this, RUNNING, cancelled)) {
				// The scope sets its flag, then looks for cancelled calls; this call
				// changed its state, then looks at the flag: one of the two sees the
				// other, and the one that removes the call from the scope tells it.
				if (inbound.isClientGone() && (inbound.leave(this.call) || this.goneWhileRunning)) {
					this.call.onClientGone();
				}
				return;
			}
		}
	}

	/**
	 * The call's client left: a cancelled call's hang-up, or a running call's stop when
	 * it stops with its client and no other request still waits on it.
	 */
	void clientGone(@Nullable InboundScope scope, boolean stopWithClient) {
		HangupKind kind = (scope != null) ? scope.goneKind() : HangupKind.CLIENT_CANCEL;
		for (;;) {
			int current = this.state;
			if (current == CANCELLED_BEFORE_RESPONSE || current == CANCELLED_DURING_RESPONSE) {
				if (STATE.compareAndSet(this, current, FINISHED)) {
					this.call.record(kind, (current == CANCELLED_BEFORE_RESPONSE) ? HangupPhase.BEFORE_RESPONSE
							: HangupPhase.DURING_RESPONSE, null);
					return;
				}
			}
			else if (current == RUNNING && stopWithClient && !this.call.isAwaitedByAnother()) {
				if (finishRunning()) {
					stop(kind);
					return;
				}
			}
			else if (current == RUNNING && !this.goneWhileRunning) {
				// Running on, in CHAIN mode or for another request that shares the call
				// and is still there, and no longer in the scope: a cancel that read the
				// client as still there before it changed its state cannot claim the call
				// by leaving the scope. It reads this flag after its change; this looks
				// at its change again after the flag: one of the two sees the other.
				this.goneWhileRunning = true;
			}
			else {
				return;
			}
		}
	}

	/** A running call whose client left stops with it, once it went out. */
	private void stop(HangupKind kind) {
		if (this.call.hasLeft()) {
			HangupPhase phase = this.call.phase();
			this.call.record(kind, phase, null);
			this.call.stop(HangupException.of(kind, phase, this.call.method(), this.call.upstream(), null));
		}
	}

	private void leave(@Nullable InboundScope scope) {
		if (scope != null) {
			scope.leave(this.call);
		}
	}

}
