package io.github.hangup.client;

import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;

import io.github.hangup.HangupPhase;

/**
 * The lifecycle of one outbound call as one state word. The exchange, the body's reader,
 * the timer and the inbound scope change it from their own threads, only through these
 * transitions, each a compare-and-set loop: <pre>
 * what the downstream was told:  none -&gt; RESPONDED | TERMINATED | DOWNSTREAM_CANCELLED   signal
 * flags set once:                ENDED (no longer in flight)                               end
 *                                SUBSCRIBED, STOPPED, FAILED                               subscribed, stopped, failed
 * </pre> The verdict in the inbound scope is the call's own
 * ({@link AbstractOutboundCall}), a concern of its own that no transition here depends
 * on. Of subscribed and stopped (or failed), whoever sets the second releases the
 * downstream, so a stop or the timer's error reaches it exactly once, and never before
 * its subscription. The phase of a hang-up follows from the word: a call whose downstream
 * got the response hangs up during it.
 */
final class CallState {

	/** The downstream got the response; what follows is its body. */
	static final int RESPONDED = 1;

	/** The downstream got an error or an empty completion. */
	static final int TERMINATED = 1 << 1;

	/** The downstream cancelled before any signal. */
	static final int DOWNSTREAM_CANCELLED = 1 << 2;

	private static final int SIGNALS = RESPONDED | TERMINATED | DOWNSTREAM_CANCELLED;

	private static final int ENDED = 1 << 3;

	private static final int SUBSCRIBED = 1 << 4;

	private static final int STOPPED = 1 << 5;

	private static final int FAILED = 1 << 6;

	private static final AtomicIntegerFieldUpdater<CallState> STATE = AtomicIntegerFieldUpdater
		.newUpdater(CallState.class, "state");

	private volatile int state;

	/**
	 * Tell the downstream {@code signal} unless it was told something already.
	 * @param signal {@link #RESPONDED}, {@link #TERMINATED} or
	 * {@link #DOWNSTREAM_CANCELLED}
	 * @return whether this caller decided the signal
	 */
	boolean signal(int signal) {
		return (setUnless(SIGNALS, signal) & SIGNALS) == 0;
	}

	/** The call no longer counts as in flight. @return whether this caller ended it */
	boolean end() {
		return (setUnless(ENDED, ENDED) & ENDED) == 0;
	}

	/**
	 * The downstream has its subscription.
	 * @return the word before: see {@link #wasStopped} and {@link #wasFailed}
	 */
	int subscribed() {
		return setUnless(SUBSCRIBED, SUBSCRIBED);
	}

	/** Whether a call was stopped before its downstream had its subscription. */
	static boolean wasStopped(int before) {
		return (before & (SUBSCRIBED | STOPPED)) == STOPPED;
	}

	/**
	 * Whether a call failed (its timer fired) before its downstream had its subscription.
	 */
	static boolean wasFailed(int before) {
		return (before & (SUBSCRIBED | FAILED)) == FAILED;
	}

	/**
	 * The call failed with an error for its downstream. @return whether the downstream
	 * already has its subscription
	 */
	boolean failed() {
		return (setUnless(FAILED, FAILED) & SUBSCRIBED) != 0;
	}

	/**
	 * The call was stopped. @return whether its downstream already has its subscription
	 */
	boolean stopped() {
		return (setUnless(STOPPED, STOPPED) & SUBSCRIBED) != 0;
	}

	/** Sets {@code bit} unless a bit of {@code unless} is set. @return the word before */
	private int setUnless(int unless, int bit) {
		for (;;) {
			int current = this.state;
			if ((current & unless) != 0 || STATE.compareAndSet(this, current, current | bit)) {
				return current;
			}
		}
	}

	boolean isSignalled() {
		return (this.state & SIGNALS) != 0;
	}

	boolean isResponded() {
		return (this.state & RESPONDED) != 0;
	}

	boolean isEnded() {
		return (this.state & ENDED) != 0;
	}

	HangupPhase phase() {
		return isResponded() ? HangupPhase.DURING_RESPONSE : HangupPhase.BEFORE_RESPONSE;
	}

}
