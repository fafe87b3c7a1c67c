package io.github.hangup.client.blocking;

import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;

import io.github.hangup.HangupClassifier;
import io.github.hangup.HangupException;
import io.github.hangup.HangupPhase;
import io.github.hangup.HangupRecorder;
import io.github.hangup.client.AbstractOutboundCall;
import io.github.hangup.client.OutboundCalls;
import io.github.hangup.server.InboundScope;
import org.jspecify.annotations.Nullable;

/**
 * One call of a blocking client: from the interceptor that sends it to the end of its
 * response body. Its verdict (a hang-up at most once) is the one every outbound call has.
 */
final class BlockingCall extends AbstractOutboundCall {

	private static final AtomicIntegerFieldUpdater<BlockingCall> ENDED = AtomicIntegerFieldUpdater
		.newUpdater(BlockingCall.class, "ended");

	/** The response head arrived: what fails from now on fails during the response. */
	private volatile boolean responded;

	/** 1 once the call stopped being in flight. */
	private volatile int ended;

	/** Set when the call's client left while it ran: what its caller gets in place of the result. */
	private volatile @Nullable HangupException stopped;

	BlockingCall(HangupClassifier classifier, HangupRecorder recorder, String method, String upstream,
			@Nullable InboundScope scope, boolean stopWithClient, OutboundCalls calls) {
		super(classifier, recorder, method, upstream, scope, stopWithClient, calls);
	}

	/**
	 * Join the request's scope and count the call in flight.
	 * @return the error to end the call with when its client already left, or {@code null}
	 */
	@Nullable HangupException begin() {
		HangupException early = joinScope();
		if (early == null) {
			countStarted();
		}
		return early;
	}

	void responded() {
		this.responded = true;
	}

	/**
	 * The call failed.
	 * @return what its caller gets: a {@link HangupException} for a hang-up, the error itself
	 * otherwise
	 */
	Throwable fail(Throwable error) {
		Throwable failed = failCall(error, phase());
		end();
		HangupException stopped = this.stopped;
		return (stopped != null) ? stopped : failed;
	}

	/** The call ended without a hang-up: its body was read to its end, or closed. */
	void finish() {
		finishCall();
		end();
	}

	/** The hang-up the call's client leaving stopped it with, if it did. */
	@Nullable HangupException stopped() {
		return this.stopped;
	}

	private void end() {
		if (ENDED.compareAndSet(this, 0, 1)) {
			countEnded();
		}
	}

	@Override
	protected HangupPhase phase() {
		return this.responded ? HangupPhase.DURING_RESPONSE : HangupPhase.BEFORE_RESPONSE;
	}

	@Override
	protected boolean isRequestSent() {
		// The factories do not tell when the request goes out: a reply they cannot parse is
		// taken for the reply's fault, as it almost always is.
		return true;
	}

	@Override
	protected void stop(HangupException stopped) {
		// Recorded already. A blocking call cannot be interrupted through the request
		// factories' common interface: the thread waiting on it gets the hang-up when the
		// call returns.
		this.stopped = stopped;
	}

}
