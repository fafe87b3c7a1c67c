package io.github.hangup.server;

import java.util.Set;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;
import java.util.concurrent.atomic.AtomicReferenceFieldUpdater;

import io.github.hangup.HangupKind;
import io.github.hangup.HangupPhase;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Hooks;
import reactor.util.context.Context;
import reactor.util.context.ContextView;

/**
 * The life of one inbound request, shared between the server components that create it
 * and the outbound calls made while serving it. Outbound calls {@link #join join} the
 * scope; when the inbound client goes away (or this server closes the request) every call
 * still in it is told, so that a cancel caused by the client leaving is counted as
 * {@link HangupKind#CLIENT_CANCEL} and nothing else.
 * <p>
 * Carried in the Reactor {@code Context}, where {@link #from(ContextView)} finds it, and
 * in the exchange attributes under {@link #ATTRIBUTE}. Only the server components decide
 * how the request ended; what they use to do so is not public.
 *
 * @since 0.1.0
 */
public final class InboundScope {

	/**
	 * Reactor {@code Context} key of the scope for context-propagation's thread-local
	 * accessor. The server components store the scope under it only with Reactor's
	 * automatic context propagation on, to make the scope current in every callback of
	 * its request's chain; an application may store a scope under it. Read a scope with
	 * {@link #from(ContextView)}.
	 */
	public static final Class<InboundScope> CONTEXT_KEY = InboundScope.class;

	/**
	 * Where the server components store the scope. Not {@link #CONTEXT_KEY}: a value
	 * under that key makes every operator that restores thread locals (each {@code tap},
	 * such as WebFlux's request observation) set and reset the scope's thread local
	 * around each of its signals, a cost every request would pay for callbacks that
	 * rarely need it.
	 */
	static final Object KEY = new Object() {

		@Override
		public String toString() {
			return InboundScope.class.getName() + ".KEY";
		}

	};

	/**
	 * Exchange attribute under which the scope of the current request is stored.
	 */
	public static final String ATTRIBUTE = InboundScope.class.getName();

	private static final AtomicIntegerFieldUpdater<InboundScope> RECORDED = AtomicIntegerFieldUpdater
		.newUpdater(InboundScope.class, "recorded");

	private static final AtomicIntegerFieldUpdater<InboundScope> VERDICT = AtomicIntegerFieldUpdater
		.newUpdater(InboundScope.class, "verdict");

	private static final AtomicReferenceFieldUpdater<InboundScope, @Nullable HangupKind> GONE = AtomicReferenceFieldUpdater
		.newUpdater(InboundScope.class, HangupKind.class, "gone");

	private static final int OPEN = 0;

	private static final int CLOSED = 1;

	private static final int ABORTED = 2;

	private final long startNanos = System.nanoTime();

	private final Participants participants = new Participants();

	/** 1 once a hang-up of the request was claimed for recording. */
	private volatile int recorded;

	/**
	 * Why the request ended early, set once by the first to decide: {@code null} while
	 * the client is there. One field, so that whoever reads the client as gone reads its
	 * kind too.
	 */
	private volatile @Nullable HangupKind gone;

	private volatile @Nullable HangupKind kind;

	private volatile @Nullable HangupPhase phase;

	private volatile long written;

	/**
	 * Told first when the server aborts the request: the web filter's processing of it.
	 */
	private volatile @Nullable Runnable onServerAbort;

	/**
	 * How the request ended, decided once: {@link #OPEN}, then {@link #CLOSED} (its
	 * processing ended with its client there) or {@link #ABORTED} (its client left, or
	 * the server closed it, first). Observations and the server components each see one
	 * end of the request on their own thread; deciding here makes them agree.
	 */
	private volatile int verdict = OPEN;

	/**
	 * Return the scope of the request whose code runs on this thread, if known: set while
	 * the request's processing is subscribed and, with Reactor's automatic context
	 * propagation ({@code spring.reactor.context-propagation=auto}), in every callback of
	 * its chain.
	 * @return the current scope or {@code null}
	 */
	public static @Nullable InboundScope current() {
		return CurrentScope.get();
	}

	/**
	 * Return the scope of the request that {@code context} belongs to, if any.
	 * @param context a subscriber's context
	 * @return the scope, or {@code null}
	 * @since 0.4.0
	 */
	public static @Nullable InboundScope from(ContextView context) {
		Object scope = context.getOrDefault(KEY, null);
		if (scope == null) {
			scope = context.getOrDefault(CONTEXT_KEY, null);
		}
		return (scope instanceof InboundScope inbound) ? inbound : null;
	}

	/**
	 * Return {@code context} with this scope, found there by {@link #from(ContextView)},
	 * and by the thread-local accessor when Reactor propagates context automatically.
	 */
	Context into(Context context) {
		Context with = context.put(KEY, this);
		return Hooks.isAutomaticContextPropagationEnabled() ? with.put(CONTEXT_KEY, this) : with;
	}

	/**
	 * Return whether the inbound client has gone away, or the server closed the request.
	 * @return {@code true} once the request ended early
	 */
	public boolean isClientGone() {
		return this.gone != null;
	}

	/**
	 * Return how the request ended early, for the outbound calls stopped with it.
	 * @return {@link HangupKind#CLIENT_CANCEL} (also while the request runs), or
	 * {@link HangupKind#SERVER_CLOSE} when this application's server closed it
	 * @since 0.2.0
	 */
	public HangupKind goneKind() {
		HangupKind kind = this.gone;
		return (kind != null) ? kind : HangupKind.CLIENT_CANCEL;
	}

	/**
	 * Join an outbound call to this scope.
	 * @param participant the call
	 * @return {@code false} when the client is already gone (the call was not joined and
	 * should stop), {@code true} otherwise
	 */
	public boolean join(Participant participant) {
		if (this.verdict == CLOSED) {
			return !isClientGone();
		}
		this.participants.add(participant);
		if (this.verdict == CLOSED) {
			// Lost the race with close(), which may have cleared the calls before this
			// one was added: a closed scope holds no calls.
			this.participants.remove(participant);
			return !isClientGone();
		}
		if (isClientGone()) {
			// Lost the race with ended(): it may not have seen us.
			this.participants.remove(participant);
			return false;
		}
		return true;
	}

	/**
	 * Remove an outbound call from this scope.
	 * @param participant the call
	 * @return {@code true} for the one caller that removed it: a call cancelled just as
	 * its client left claims its own {@link Participant#onClientGone()} this way
	 */
	public boolean leave(Participant participant) {
		return this.participants.remove(participant);
	}

	long startNanos() {
		return this.startNanos;
	}

	/**
	 * Only the first caller may record the request's hang-up: a cancel and an error count
	 * once.
	 */
	boolean claimRecording() {
		return RECORDED.compareAndSet(this, 0, 1);
	}

	/**
	 * Count bytes of the response body handed to the server, from its single writing
	 * thread.
	 */
	void wrote(long bytes) {
		this.written += bytes;
	}

	long written() {
		return this.written;
	}

	/** The hang-up recorded for this request, for observations that end later. */
	@Nullable HangupKind kind() {
		return this.kind;
	}

	void recorded(HangupKind kind, HangupPhase phase) {
		this.phase = phase;
		this.kind = kind;
	}

	@Nullable HangupPhase phase() {
		return this.phase;
	}

	/**
	 * The client left: {@link #ended(HangupKind)} with {@link HangupKind#CLIENT_CANCEL}.
	 */
	Set<String> clientGone() {
		return ended(HangupKind.CLIENT_CANCEL);
	}

	/**
	 * Mark the request as ended early, by its client leaving or by this server closing
	 * it, and tell the outbound calls that were already cancelled (they count as client
	 * cancels now). Calls still running are left to the cancel travelling down the
	 * reactive chain, then to {@link #stopRemaining()}. Only the first call decides the
	 * kind, which {@link #goneKind()} then returns to everyone.
	 * @return the upstreams of the calls still in the scope, without duplicates
	 */
	Set<String> ended(HangupKind kind) {
		// Before looking at the calls: a call cancelled concurrently reads this field
		// after its own state change, so one of the two sees the other.
		GONE.compareAndSet(this, null, kind);
		VERDICT.compareAndSet(this, OPEN, ABORTED);
		return this.participants.tellCancelled();
	}

	/**
	 * Tell every call still joined that its client is gone: these are the calls that left
	 * the chain.
	 */
	void stopRemaining() {
		this.participants.tellAll();
	}

	/**
	 * The request's processing ended: unless its client left first, release the outbound
	 * calls still in the scope, which are no longer tied to the client.
	 * @return {@code true} when the request ended with its client there, {@code false}
	 * when it was decided before that the client left (a hang-up still to be recorded)
	 */
	boolean close() {
		if (!VERDICT.compareAndSet(this, OPEN, CLOSED)) {
			return this.verdict == CLOSED;
		}
		this.participants.clear();
		return true;
	}

	/**
	 * The request's connection was aborted before its processing ended: decide, unless
	 * the processing ended first, that the client left.
	 * @return {@code true} when the client left (decided now or before), {@code false}
	 * when the request had ended with its client there
	 */
	boolean abort() {
		return VERDICT.compareAndSet(this, OPEN, ABORTED) || this.verdict == ABORTED;
	}

	/** Run {@code onServerAbort} when the server aborts the request. */
	void onServerAbort(Runnable onServerAbort) {
		this.onServerAbort = onServerAbort;
	}

	/**
	 * The server aborts the request: its connection closed, or its HTTP/2 stream was
	 * reset.
	 */
	void serverAborted() {
		Runnable onServerAbort = this.onServerAbort;
		if (onServerAbort != null) {
			onServerAbort.run();
		}
	}

	boolean isClosed() {
		return this.verdict == CLOSED;
	}

	/**
	 * Whether a joined call was cancelled and awaits the verdict of whether its client
	 * left.
	 */
	boolean hasCancelledParticipants() {
		return this.participants.anyCancelled();
	}

	int participants() {
		return this.participants.size();
	}

	/**
	 * An outbound call taking part in an inbound request's scope.
	 */
	public interface Participant {

		/**
		 * Return the upstream of this call, as {@code host:port} or client name.
		 * @return the upstream
		 */
		String upstream();

		/**
		 * Return whether this call was cancelled before it ended.
		 * @return {@code true} if cancelled
		 */
		boolean isCancelled();

		/**
		 * The inbound client went away while this call was in the scope. Called at most
		 * once per join; must not block.
		 */
		void onClientGone();

	}

}
