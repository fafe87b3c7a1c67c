package io.github.hangup.client.blocking;

import java.io.Closeable;
import java.io.IOException;
import java.net.ProtocolException;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;

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

/**
 * One call of a blocking client: from the interceptor that sends it to the end of its
 * response body. Its verdict (a hang-up at most once) is the one every outbound call has.
 * <p>
 * Stopped when its client leaves: a thread waiting on the request factory for the
 * response is interrupted, which the JDK {@code HttpClient}'s factory answers by
 * cancelling the exchange and closing its connection; a body being read is closed under
 * its reader when the factory's body can be closed from another thread without draining
 * it first. The interrupt is delivered only while the calling thread waits on the
 * factory, and taken back when the wait ends, so that it never reaches the application's
 * code after the call. Where the factory's client offers a hook, its exchange is also
 * aborted through it, before the response and while its body is read (see
 * {@link RequestFactoryAborts}): the hook finds the call the calling thread is sending
 * with {@link #sending()}.
 */
final class BlockingCall extends AbstractOutboundCall {

	/** The call whose request the thread hands to the request factory, while it does. */
	private static final ThreadLocal<BlockingCall> SENDING = new ThreadLocal<>();

	private static final AtomicIntegerFieldUpdater<BlockingCall> ENDED = AtomicIntegerFieldUpdater
		.newUpdater(BlockingCall.class, "ended");

	/** The response head arrived: what fails from now on fails during the response. */
	private volatile boolean responded;

	private static final AtomicIntegerFieldUpdater<BlockingCall> WAIT = AtomicIntegerFieldUpdater
		.newUpdater(BlockingCall.class, "wait");

	/** No thread waits on the request factory. */
	private static final int IDLE = 0;

	/** The calling thread waits on the request factory: a stop interrupts it. */
	private static final int WAITING = 1;

	/** A stop is interrupting the waiting thread. */
	private static final int INTERRUPTING = 2;

	/** A stop interrupted the waiting thread, which must take the interrupt back. */
	private static final int INTERRUPTED = 3;

	/** 1 once the call stopped being in flight. */
	private volatile int ended;

	/**
	 * Whether the calling thread waits on the request factory, and whether a stop
	 * interrupted it.
	 */
	private volatile int wait = IDLE;

	private volatile @Nullable Thread waiter;

	/**
	 * The response body to close when the call stops while its body is read, if it can be
	 * closed so.
	 */
	private volatile @Nullable Closeable body;

	/**
	 * Set when the call's client left while it ran: what its caller gets in place of the
	 * result.
	 */
	private volatile @Nullable HangupException stopped;

	/**
	 * Aborts the exchange in the factory's client, closing its connection, if a hook gave
	 * one.
	 */
	private volatile @Nullable Runnable abort;

	/** Hangup's limit on the wait for the response head passed, and aborted the call. */
	private volatile boolean headTimedOut;

	/** The last attempt of the client's own retry that failed, on the calling thread. */
	private @Nullable IOException failedAttempt;

	/** How many calls the connection of {@link #failedAttempt} had carried before. */
	private int failedOnRequests;

	BlockingCall(HangupClassifier classifier, HangupRecorder recorder, String method, String upstream,
			@Nullable InboundScope scope, boolean stopWithClient, OutboundCalls calls) {
		super(classifier, recorder, method, upstream, scope, stopWithClient, calls);
	}

	/**
	 * Join the request's scope and count the call in flight.
	 * @return the error to end the call with when its client already left, or
	 * {@code null}
	 */
	@Nullable HangupException begin() {
		HangupException early = joinScope();
		if (early == null) {
			countStarted();
		}
		return early;
	}

	/**
	 * The calling thread waits on the request factory from now on, until
	 * {@link #awaited()}: a stop in between interrupts it.
	 * @return the hang-up the call was stopped with before the wait began, in which case
	 * the call must not be sent, or {@code null}
	 */
	@Nullable HangupException awaiting() {
		this.waiter = Thread.currentThread();
		SENDING.set(this);
		this.wait = WAITING;
		// The stop sets its error, then looks at the wait; this set the wait, then looks
		// at the error: one of the two sees the other.
		return this.stopped;
	}

	/**
	 * The calling thread no longer waits on the request factory: an interrupt a stop
	 * delivered is taken back, so that the application's code after the call never sees
	 * it.
	 */
	void awaited() {
		if (!WAIT.compareAndSet(this, WAITING, IDLE)) {
			while (this.wait == INTERRUPTING) {
				// The stop is between its compare-and-set and its interrupt: a few
				// instructions.
				Thread.onSpinWait();
			}
			Thread.interrupted();
			this.wait = IDLE;
		}
		this.waiter = null;
		SENDING.remove();
	}

	/**
	 * The call whose request the current thread hands to the request factory, for a hook
	 * of the factory's client that runs on that thread as the exchange starts.
	 * @return the call, or {@code null} when the thread sends none through Hangup's
	 * interceptor
	 */
	static @Nullable BlockingCall sending() {
		return SENDING.get();
	}

	/**
	 * An attempt of the client's own retry starts: one after an attempt that failed on a
	 * reused connection is a retry of a stale connection, and is counted so. On the
	 * calling thread.
	 */
	void attemptStarting() {
		IOException failed = this.failedAttempt;
		if (failed != null) {
			this.failedAttempt = null;
			if (this.failedOnRequests > 0) {
				// The client does not tell how long the connection sat idle.
				recorder().retried(new HangupRetry(method(), upstream(), HangupRetry.STALE_CONNECTION,
						new UpstreamConnection(true, Duration.ZERO, this.failedOnRequests), failed));
			}
		}
	}

	/**
	 * An attempt failed before its response, on the calling thread.
	 * @param error the failure
	 * @param requests how many calls its connection had carried before, {@code 0} when
	 * new
	 */
	void attemptFailed(IOException error, int requests) {
		this.failedAttempt = error;
		this.failedOnRequests = requests;
	}

	/**
	 * Give the call the means to abort its exchange in the factory's client: run when the
	 * call stops, before its response or while its body is read, or at once if it stopped
	 * already. It may run more than once, as aborts do.
	 * @param abort aborts the exchange and closes its connection, from any thread
	 */
	void abortWith(Runnable abort) {
		this.abort = abort;
		// The stop sets its error, then looks at the abort; this set the abort, then
		// looks at the error: one of the two runs it.
		if (this.stopped != null) {
			abortExchange();
		}
	}

	/**
	 * Abort the exchange through the hook of the factory's client.
	 * @return whether a hook was there to do it
	 */
	boolean abortExchange() {
		Runnable abort = this.abort;
		if (abort == null) {
			return false;
		}
		try {
			abort.run();
		}
		catch (RuntimeException ex) {
			// Aborting is all a stop can do to the exchange: it did what it could.
		}
		return true;
	}

	/**
	 * The response head arrived.
	 * @param body the response body to close should the call stop while it is read, or
	 * {@code null} when the factory's body cannot be closed from another thread
	 * @return the hang-up the call was stopped with meanwhile, or {@code null}
	 */
	@Nullable HangupException responded(@Nullable Closeable body) {
		this.responded = true;
		this.body = body;
		return this.stopped;
	}

	/**
	 * The call failed.
	 * @return what its caller gets: a {@link HangupException} for a hang-up, the error
	 * itself otherwise
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

	/**
	 * The kind for the call's observation: the hang-up recorded, or, for a call its
	 * client left, the kind it is recorded as.
	 */
	@Nullable HangupKind observedKind() {
		return observedKind(this.stopped != null);
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
	protected @Nullable HangupKind kind(Throwable error, HangupPhase phase) {
		if (this.headTimedOut && phase == HangupPhase.BEFORE_RESPONSE && !isClientGone()) {
			// Whatever the abort made the client throw.
			return HangupKind.UPSTREAM_TIMEOUT;
		}
		HangupKind kind = super.kind(error, phase);
		if (kind == null && phase == HangupPhase.BEFORE_RESPONSE && !isClientGone() && isProtocolError(error)) {
			// The JDK's clients (HttpClient, HttpURLConnection) raise this type for a
			// reply they cannot parse as HTTP; Netty's codecs are known to the classifier
			// already.
			return HangupKind.UPSTREAM_PROTOCOL_ERROR;
		}
		return kind;
	}

	private static boolean isProtocolError(Throwable error) {
		int depth = 0;
		for (Throwable t = error; t != null && depth < 16; t = (t.getCause() != t) ? t.getCause() : null, depth++) {
			if (t instanceof ProtocolException) {
				return true;
			}
		}
		return false;
	}

	@Override
	protected boolean isRequestSent() {
		// The factories do not tell when the request goes out: a reply they cannot parse
		// is taken for the reply's fault, as it almost always is.
		return true;
	}

	@Override
	protected void stop(HangupException stopped) {
		// Recorded already: whoever waits on the call gets the hang-up in place of its
		// result.
		this.stopped = stopped;
		interruptAndAbort();
		Closeable body = this.body;
		if (body != null) {
			try {
				body.close();
			}
			catch (IOException | RuntimeException ex) {
				// Closing is all a stop can do to the connection: it did what it could.
			}
		}
	}

	/**
	 * The response head did not arrive within Hangup's limit: the exchange is aborted,
	 * and its failure is the call's {@code UPSTREAM_TIMEOUT}. On the timer's thread.
	 */
	void headTimedOut() {
		if (this.responded || this.stopped != null) {
			return;
		}
		this.headTimedOut = true;
		interruptAndAbort();
	}

	/** Release the thread waiting on the factory, and abort the exchange. */
	private void interruptAndAbort() {
		Thread waiter = this.waiter;
		if (waiter != null && WAIT.compareAndSet(this, WAITING, INTERRUPTING)) {
			try {
				waiter.interrupt();
			}
			finally {
				this.wait = INTERRUPTED;
			}
		}
		abortExchange();
	}

}
