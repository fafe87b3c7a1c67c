package io.github.hangup;

import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;

import org.jspecify.annotations.Nullable;

/**
 * The life of one inbound request, shared between the server components that create it and
 * the outbound calls made while serving it. Outbound calls join the scope; when the inbound
 * client goes away every call still in it is told, so that a cancel caused by the client
 * leaving is counted as {@link HangupKind#CLIENT_CANCEL} and nothing else.
 * <p>
 * Carried in the Reactor {@code Context} under {@link #CONTEXT_KEY} and in the exchange
 * attributes under {@link #ATTRIBUTE}.
 *
 * @since 0.1.0
 */
public final class InboundScope {

	/**
	 * Reactor {@code Context} key under which the scope of the current request is stored.
	 */
	public static final Class<InboundScope> CONTEXT_KEY = InboundScope.class;

	/**
	 * Exchange attribute under which the scope of the current request is stored.
	 */
	public static final String ATTRIBUTE = InboundScope.class.getName();

	/**
	 * The scope of the request whose code runs on this thread. A static, like every
	 * context-propagation thread local: it is the only way for a call subscribed outside the
	 * reactive chain to find its request.
	 */
	private static final ThreadLocal<InboundScope> CURRENT = new ThreadLocal<>();

	private static final Participant[] NO_PARTICIPANTS = {};

	private static final AtomicIntegerFieldUpdater<InboundScope> RECORDED = AtomicIntegerFieldUpdater
		.newUpdater(InboundScope.class, "recorded");

	private static final AtomicIntegerFieldUpdater<InboundScope> VERDICT = AtomicIntegerFieldUpdater
		.newUpdater(InboundScope.class, "verdict");

	private static final int OPEN = 0;

	private static final int CLOSED = 1;

	private static final int ABORTED = 2;

	private final long startNanos = System.nanoTime();

	/** 1 once a hang-up of the request was claimed for recording. */
	private volatile int recorded;

	/**
	 * Copied on write under this scope's lock: a request makes few outbound calls, and
	 * readers iterate without locking while calls leave.
	 */
	private volatile Participant[] participants = NO_PARTICIPANTS;

	private volatile boolean clientGone;

	/** Why the request ended early; written before {@link #clientGone}, read after it. */
	private volatile HangupKind goneKind = HangupKind.CLIENT_CANCEL;

	private volatile @Nullable HangupKind kind;

	private volatile @Nullable HangupPhase phase;

	private volatile long written;

	/**
	 * How the request ended, decided once: {@link #OPEN}, then {@link #CLOSED} (its processing
	 * ended with its client there) or {@link #ABORTED} (its client left, or the server closed
	 * it, first). Observations and the server components each see one end of the request on
	 * their own thread; deciding here makes them agree.
	 */
	private volatile int verdict = OPEN;

	/**
	 * Return the scope of the request whose code runs on this thread, if known: set while the
	 * request's processing is subscribed and, with Reactor's automatic context propagation
	 * ({@code spring.reactor.context-propagation=auto}), in every callback of its chain.
	 * @return the current scope or {@code null}
	 */
	public static @Nullable InboundScope current() {
		return CURRENT.get();
	}

	/**
	 * Make a scope current on this thread.
	 * @param scope the scope, or {@code null} to clear
	 * @return the scope that was current before, to pass to {@link #restore}
	 */
	public static @Nullable InboundScope makeCurrent(@Nullable InboundScope scope) {
		InboundScope previous = CURRENT.get();
		// set(null) rather than remove(): the entry is reused by the next request on this
		// thread instead of being removed and created again.
		CURRENT.set(scope);
		return previous;
	}

	/**
	 * Restore the scope that was current before {@link #makeCurrent}.
	 * @param previous the value {@link #makeCurrent} returned
	 */
	public static void restore(@Nullable InboundScope previous) {
		makeCurrent(previous);
	}

	/**
	 * Return the {@link System#nanoTime()} at which the inbound request started.
	 * @return the start time in nanoseconds
	 */
	public long startNanos() {
		return this.startNanos;
	}

	/**
	 * Return whether the inbound client has gone away, or the server closed the request.
	 * @return {@code true} once {@link #clientGone()} was called
	 */
	public boolean isClientGone() {
		return this.clientGone;
	}

	/**
	 * Return how the request ended early, for the outbound calls stopped with it.
	 * @return {@link HangupKind#CLIENT_CANCEL} (also while the request runs), or
	 * {@link HangupKind#SERVER_CLOSE} when this application's server closed it
	 * @since 0.2.0
	 */
	public HangupKind goneKind() {
		return this.goneKind;
	}

	/**
	 * Claim the right to record the inbound hang-up of this request; only the first caller
	 * gets it, so that a cancel and an error seen by two components count once.
	 * @return {@code true} for the first caller only
	 */
	public boolean claimRecording() {
		return RECORDED.compareAndSet(this, 0, 1);
	}

	/**
	 * Count bytes of the response body handed to the server. Called by the single thread
	 * writing the response.
	 * @param bytes the number of bytes
	 */
	public void wrote(long bytes) {
		this.written += bytes;
	}

	/**
	 * Return how many bytes of the response body were handed to the server.
	 * @return the byte count
	 */
	public long written() {
		return this.written;
	}

	/**
	 * Return the hang-up recorded for this request, if any.
	 * @return the kind, or {@code null} while the request has not hung up
	 */
	public @Nullable HangupKind kind() {
		return this.kind;
	}

	/**
	 * Remember the hang-up recorded for this request, for observations that end later.
	 * @param kind the kind recorded
	 */
	public void recorded(HangupKind kind) {
		this.kind = kind;
	}

	/**
	 * Remember the hang-up recorded for this request and when it happened.
	 * @param kind the kind recorded
	 * @param phase whether the response had started: a started one was cut
	 * @since 0.2.0
	 */
	public void recorded(HangupKind kind, HangupPhase phase) {
		this.phase = phase;
		this.kind = kind;
	}

	/**
	 * Return when the recorded hang-up happened.
	 * @return the phase, or {@code null} while the request has not hung up or when it was
	 * recorded without one
	 * @since 0.2.0
	 */
	public @Nullable HangupPhase phase() {
		return this.phase;
	}

	/**
	 * Join an outbound call to this scope.
	 * @param participant the call
	 * @return {@code false} when the client is already gone (the call was not joined and
	 * should stop), {@code true} otherwise
	 */
	public boolean join(Participant participant) {
		if (this.verdict == CLOSED) {
			return !this.clientGone;
		}
		synchronized (this) {
			Participant[] joined = this.participants;
			Participant[] grown = Arrays.copyOf(joined, joined.length + 1);
			grown[joined.length] = participant;
			this.participants = grown;
		}
		if (this.clientGone) {
			// Lost the race with clientGone(): it may not have seen us.
			remove(participant);
			return false;
		}
		return true;
	}

	/**
	 * Remove an outbound call from this scope.
	 * @param participant the call
	 * @return {@code true} for the one caller that removed it: a call cancelled just as its
	 * client left claims its own {@link Participant#onClientGone()} this way
	 */
	public boolean leave(Participant participant) {
		return remove(participant);
	}

	/**
	 * Mark the inbound client as gone and tell the outbound calls that were already
	 * cancelled (they count as client cancels now). Calls still running are left to the
	 * cancel travelling down the reactive chain, then to {@link #stopRemaining()}.
	 * Idempotent.
	 * @return the upstreams of the calls still in the scope, without duplicates
	 */
	public Set<String> clientGone() {
		return ended(HangupKind.CLIENT_CANCEL);
	}

	/**
	 * Mark the request as ended early, by its client leaving or by this server closing it,
	 * and tell the outbound calls that were already cancelled. Only the first call decides
	 * the kind.
	 * @param kind {@link HangupKind#CLIENT_CANCEL} or {@link HangupKind#SERVER_CLOSE}
	 * @return the upstreams of the calls still in the scope, without duplicates
	 * @since 0.2.0
	 */
	public Set<String> ended(HangupKind kind) {
		if (!this.clientGone) {
			this.goneKind = kind;
		}
		VERDICT.compareAndSet(this, OPEN, ABORTED);
		// After the kind, before looking at the calls: a call cancelled concurrently reads
		// this flag after its own state change, so one of the two sees the other.
		this.clientGone = true;
		Set<String> upstreams = new LinkedHashSet<>();
		for (Participant participant : this.participants) {
			upstreams.add(participant.upstream());
			if (participant.isCancelled() && remove(participant)) {
				participant.onClientGone();
			}
		}
		return upstreams;
	}

	/**
	 * Tell every outbound call still in the scope that its client is gone: after the cancel
	 * went down the chain, these are the calls that left it.
	 */
	public void stopRemaining() {
		for (Participant participant : this.participants) {
			if (remove(participant)) {
				participant.onClientGone();
			}
		}
	}

	/**
	 * The request's processing ended: unless its client left first, release the outbound
	 * calls still in the scope, which are no longer tied to the client.
	 * @return {@code true} when the request ended with its client there, {@code false} when
	 * it was decided before that the client left (it is a hang-up still to be recorded)
	 */
	public boolean close() {
		if (!VERDICT.compareAndSet(this, OPEN, CLOSED)) {
			return this.verdict == CLOSED;
		}
		if (this.participants.length > 0) {
			synchronized (this) {
				this.participants = NO_PARTICIPANTS;
			}
		}
		return true;
	}

	/**
	 * The request's connection was aborted before its processing ended: decide, unless the
	 * processing ended first, that the client left. Whoever ends the processing then records
	 * the hang-up.
	 * @return {@code true} when the client left (decided now or before), {@code false} when
	 * the request had ended with its client there
	 * @since 0.2.0
	 */
	public boolean abort() {
		return VERDICT.compareAndSet(this, OPEN, ABORTED) || this.verdict == ABORTED;
	}

	/**
	 * Return whether the request's processing has ended (completed or failed) without the
	 * client leaving.
	 * @return {@code true} once {@link #close()} was called
	 */
	public boolean isClosed() {
		return this.verdict == CLOSED;
	}

	/**
	 * Return whether a joined outbound call was cancelled and awaits the verdict of whether
	 * its client left.
	 * @return {@code true} if any joined call was cancelled
	 */
	public boolean hasCancelledParticipants() {
		for (Participant participant : this.participants) {
			if (participant.isCancelled()) {
				return true;
			}
		}
		return false;
	}

	/**
	 * Return how many outbound calls are currently joined.
	 * @return the number of joined calls
	 */
	public int participants() {
		return this.participants.length;
	}

	/**
	 * Remove a participant; {@code true} for the one caller that removed it, so that each
	 * joined call is told at most once.
	 */
	private boolean remove(Participant participant) {
		synchronized (this) {
			Participant[] joined = this.participants;
			for (int i = 0; i < joined.length; i++) {
				if (joined[i] == participant) {
					Participant[] shrunk = (joined.length == 1) ? NO_PARTICIPANTS : new Participant[joined.length - 1];
					System.arraycopy(joined, 0, shrunk, 0, i);
					System.arraycopy(joined, i + 1, shrunk, i, joined.length - i - 1);
					this.participants = shrunk;
					return true;
				}
			}
			return false;
		}
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
