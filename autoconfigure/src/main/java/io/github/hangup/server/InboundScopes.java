package io.github.hangup.server;

import java.util.Set;

import io.github.hangup.HangupKind;
import io.github.hangup.HangupPhase;
import org.jspecify.annotations.Nullable;

/**
 * What the server components of another stack (the Servlet side, in
 * {@code io.github.hangup.servlet}) need of an {@link InboundScope}: making it current on
 * the request's thread, and deciding once how its request ended. The reactive components
 * use the scope directly. Not meant for applications.
 *
 * @since 0.3.0
 */
public final class InboundScopes {

	private InboundScopes() {
	}

	/**
	 * Make a scope current on this thread, for the outbound calls made there to find it.
	 * @param scope the scope, or {@code null} for none
	 * @return the scope that was current before, to pass to {@link #restore}
	 */
	public static @Nullable InboundScope makeCurrent(@Nullable InboundScope scope) {
		return CurrentScope.set(scope);
	}

	/**
	 * Make the scope that was current before {@link #makeCurrent} current again.
	 * @param previous what {@link #makeCurrent} returned
	 */
	public static void restore(@Nullable InboundScope previous) {
		CurrentScope.restore(previous);
	}

	/**
	 * Return when the request started, in {@link System#nanoTime()} terms.
	 * @param scope the request's scope
	 * @return the start
	 */
	public static long startNanos(InboundScope scope) {
		return scope.startNanos();
	}

	/**
	 * Claim the right to record the request's hang-up: only the first caller gets it.
	 * @param scope the request's scope
	 * @return {@code true} for the one caller that may record
	 */
	public static boolean claimRecording(InboundScope scope) {
		return scope.claimRecording();
	}

	/**
	 * Note the hang-up recorded for the request, for its observation.
	 * @param scope the request's scope
	 * @param kind the kind recorded
	 * @param phase its phase
	 */
	public static void recorded(InboundScope scope, HangupKind kind, HangupPhase phase) {
		scope.recorded(kind, phase);
	}

	/**
	 * Return the hang-up recorded for the request, if any.
	 * @param scope the request's scope
	 * @return the kind, or {@code null}
	 */
	public static @Nullable HangupKind kind(InboundScope scope) {
		return scope.kind();
	}

	/**
	 * Return the phase of the hang-up recorded for the request, if any.
	 * @param scope the request's scope
	 * @return the phase, or {@code null}
	 */
	public static @Nullable HangupPhase phase(InboundScope scope) {
		return scope.phase();
	}

	/**
	 * Mark the request as ended early and tell the calls already cancelled.
	 * @param scope the request's scope
	 * @param kind {@link HangupKind#CLIENT_CANCEL} or {@link HangupKind#SERVER_CLOSE}
	 * @return the upstreams of the calls still in the scope
	 */
	public static Set<String> ended(InboundScope scope, HangupKind kind) {
		return scope.ended(kind);
	}

	/**
	 * Stop every call still in the scope of a request that ended early.
	 * @param scope the request's scope
	 */
	public static void stopRemaining(InboundScope scope) {
		scope.stopRemaining();
	}

	/**
	 * The request's processing ended: release the calls still in its scope unless its
	 * client left first.
	 * @param scope the request's scope
	 * @return {@code true} when the request ended with its client there
	 */
	public static boolean close(InboundScope scope) {
		return scope.close();
	}

	/**
	 * Return the number of calls joined to the scope.
	 * @param scope the request's scope
	 * @return the calls
	 */
	public static int participants(InboundScope scope) {
		return scope.participants();
	}

}
