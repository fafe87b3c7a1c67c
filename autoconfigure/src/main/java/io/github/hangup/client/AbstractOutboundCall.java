package io.github.hangup.client;

import java.time.Duration;

import io.github.hangup.HangupClassifier;
import io.github.hangup.HangupEvent;
import io.github.hangup.HangupException;
import io.github.hangup.HangupKind;
import io.github.hangup.HangupPhase;
import io.github.hangup.HangupRecorder;
import io.github.hangup.UpstreamConnection;
import io.github.hangup.server.InboundScope;
import org.jspecify.annotations.Nullable;

import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpMethod;

/**
 * The verdict on one outbound call made while serving an inbound request: takes part in
 * the request's {@link InboundScope} and records the call's hang-up at most once, whether
 * it ends by failing, by being cancelled or by its client leaving. Shared by Hangup's
 * {@code WebClient} filter and its Spring Cloud Gateway filters; not meant for
 * applications.
 * <p>
 * A cancel is only a hang-up when the inbound client left. A cancel can arrive before the
 * server side knows (a failed write to the dead client cancels the upstream body before
 * the error reaches the server components), so a cancelled call stays pending in the
 * scope until the verdict: {@link #onClientGone()} records it, a normal end of the
 * request drops it. The verdict is one state word, changed only by compare-and-set.
 *
 * @since 0.3.0
 */
public abstract class AbstractOutboundCall implements InboundScope.Participant {

	private final HangupClassifier classifier;

	private final HangupRecorder recorder;

	private final String method;

	private final String upstream;

	private final @Nullable InboundScope scope;

	private final boolean stopWithClient;

	private final OutboundCalls calls;

	private final long startNanos = System.nanoTime();

	private final CallVerdict verdict = new CallVerdict(this);

	/**
	 * The request body's own source failed, as when the inbound client left mid-upload.
	 */
	private volatile @Nullable Throwable requestBodyError;

	private volatile @Nullable HangupKind recorded;

	/**
	 * Create the verdict of a call.
	 * @param classifier decides which failures are hang-ups
	 * @param recorder receives the call's hang-up
	 * @param method the request's method, as tagged
	 * @param upstream the upstream, as tagged
	 * @param scope the inbound request's scope, or {@code null} when the call has none
	 * @param stopWithClient whether the call stops when its client leaves
	 * @param calls counts the call while it is in flight
	 */
	protected AbstractOutboundCall(HangupClassifier classifier, HangupRecorder recorder, String method, String upstream,
			@Nullable InboundScope scope, boolean stopWithClient, OutboundCalls calls) {
		this.classifier = classifier;
		this.recorder = recorder;
		this.method = method;
		this.upstream = upstream;
		this.scope = scope;
		this.stopWithClient = stopWithClient;
		this.calls = calls;
	}

	/** The call is in flight from now: to be paired with one {@link #countEnded()}. */
	protected final void countStarted() {
		this.calls.started();
	}

	/** The call is no longer in flight. */
	protected final void countEnded() {
		this.calls.ended();
	}

	/** The phase the call is in: during the response once its response head arrived. */
	protected abstract HangupPhase phase();

	/**
	 * Whether the request started to go out on a connection: an undecodable answer after
	 * that is the reply's fault.
	 */
	protected abstract boolean isRequestSent();

	/**
	 * Stop the running call whose client left: whoever waits on it gets {@code stopped},
	 * recorded already.
	 */
	protected abstract void stop(HangupException stopped);

	/**
	 * Whether the call may still go again: nothing was signalled and its client is there.
	 */
	protected boolean isRetryable() {
		return false;
	}

	/**
	 * Whether someone other than the request whose client left still waits on the call,
	 * as when the call is cached or shared: such a call runs on instead of being stopped.
	 */
	protected boolean isAwaitedByAnother() {
		return false;
	}

	/**
	 * Whether the call went out at all: a failure or a cancel before that is not the
	 * call's.
	 */
	protected boolean hasLeft() {
		return true;
	}

	/** The pooled connection the call went out on, when known. */
	protected @Nullable UpstreamConnection connection() {
		return null;
	}

	/**
	 * The hang-up a failure of the call is, or {@code null} when it is no hang-up of this
	 * call.
	 */
	protected @Nullable HangupKind kind(Throwable error, HangupPhase phase) {
		return CallFailures.kind(error, phase, this.classifier, this.scope, this.requestBodyError, isRequestSent());
	}

	/**
	 * The request body's own source failed, as when its client left mid-upload: what
	 * follows is not the upstream's.
	 */
	public final void requestBodyFailed(Throwable error) {
		this.requestBodyError = error;
	}

	/** Whether the request body's own source failed. */
	protected final boolean isRequestBodyFailed() {
		return this.requestBodyError != null;
	}

	/**
	 * Join the inbound request's scope.
	 * @return the error to end the call with when its client already left and the call
	 * stops with it (the call must not start), or {@code null}
	 */
	protected final @Nullable HangupException joinScope() {
		return this.verdict.join(this.scope, this.stopWithClient);
	}

	/** The call ended without a hang-up. @return whether this caller ended it */
	protected final boolean finishCall() {
		return this.verdict.finish(this.scope);
	}

	/**
	 * The call failed: finish it and, if the failure is a hang-up, record it.
	 * @param error the failure
	 * @param phase when it happened
	 * @return what the call's downstream gets: a {@link HangupException} for a hang-up,
	 * the error itself otherwise
	 */
	protected final Throwable failCall(Throwable error, HangupPhase phase) {
		if (!finishCall() || error instanceof HangupException || !hasLeft()) {
			// Ended already, already translated and recorded by a filter closer to the
			// connector, or not the call's: something before it failed.
			return error;
		}
		HangupKind kind = kind(error, phase);
		if (kind == null) {
			return error;
		}
		record(kind, phase, error);
		return HangupException.of(kind, phase, this.method, this.upstream, error, connection());
	}

	/**
	 * Cancelled from downstream: a hang-up if, and only if, its client left, now or
	 * later.
	 */
	protected final void cancelCall(HangupPhase phase) {
		this.verdict.cancel(this.scope, phase);
	}

	@Override
	public final void onClientGone() {
		this.verdict.clientGone(this.scope, this.stopWithClient);
	}

	@Override
	public final boolean isCancelled() {
		return this.verdict.isCancelled();
	}

	/** The scope of the request the call was made for, if any. */
	protected final @Nullable InboundScope scope() {
		return this.scope;
	}

	/** Whether the request's scope says its client left. */
	protected final boolean isClientGone() {
		InboundScope inbound = this.scope;
		return inbound != null && inbound.isClientGone();
	}

	@Override
	public final String upstream() {
		return this.upstream;
	}

	/** Where the call's hang-ups and retries go. */
	protected final HangupRecorder recorder() {
		return this.recorder;
	}

	/** The request's method, as tagged. */
	protected final String method() {
		return this.method;
	}

	/**
	 * Return the kind for the call's observation, which may end before this call learns
	 * of a cancel.
	 * @param aborted whether the observation saw the call aborted
	 * @return the kind recorded or, for an aborted call whose client left, the kind it
	 * will be; otherwise {@code null}
	 */
	protected final @Nullable HangupKind observedKind(boolean aborted) {
		HangupKind kind = this.recorded;
		if (kind == null && aborted && isClientGone()) {
			kind = (this.scope != null) ? this.scope.goneKind() : null;
		}
		return kind;
	}

	/**
	 * The stale pooled connection a failed attempt went out on, when the call may go
	 * again on another: see the README's rules, which both integrations follow.
	 * @param error the attempt's failure
	 * @param retries the call's retries so far
	 * @param written how many times the attempt was written to a connection
	 * @param failedOn the connection it was last written to, if known
	 * @param replayable whether the request may be sent twice
	 * @return the connection, or {@code null} when the call must not go again
	 */
	protected final @Nullable UpstreamConnection staleAttempt(Throwable error, int retries, int written,
			@Nullable UpstreamConnection failedOn, boolean replayable) {
		return StaleRetry.staleAttempt(this, error, retries, written, failedOn, replayable);
	}

	/**
	 * Whether a request may be sent twice: idempotent or with an idempotency key, and no
	 * body.
	 */
	protected static boolean isReplayable(HttpMethod method, HttpHeaders headers, boolean body) {
		return ConnectionReuse.isReplayable(method, headers, body);
	}

	/**
	 * Whether Reactor Netty's {@code connection} of an attempt is new or reused, when
	 * known.
	 */
	protected static @Nullable UpstreamConnection acquired(Object connection) {
		return PooledConnections.acquired(connection);
	}

	/** Record the call's hang-up; the caller decided it is the one to. */
	protected final void record(HangupKind kind, HangupPhase phase, @Nullable Throwable cause) {
		this.recorded = kind;
		Duration elapsed = Duration.ofNanos(System.nanoTime() - this.startNanos);
		this.recorder.record(HangupEvent.outbound(kind, phase, this.method, elapsed)
			.upstream(this.upstream)
			.cause(cause)
			.connection(connection())
			.build());
	}

}
