package io.github.hangup;

import org.jspecify.annotations.Nullable;

/**
 * An outbound call hung up: the upstream timed out, reset the connection or could not be
 * reached. Carries the {@link HangupKind kind} and {@link HangupPhase phase} and keeps
 * the original error as its cause. Catch one of the three subclasses to react to a single
 * kind.
 *
 * @since 0.1.0
 */
public abstract sealed class UpstreamHangupException extends HangupException
		permits UpstreamTimeoutException, UpstreamResetException, UpstreamUnreachableException,
		UpstreamProtocolErrorException, UpstreamOverflowException {

	private static final long serialVersionUID = 1L;

	UpstreamHangupException(HangupKind kind, HangupPhase phase, String method, String upstream,
			@Nullable Throwable cause) {
		super(describe(kind, phase, method, upstream), kind, phase, method, upstream, cause);
	}

	/**
	 * Create the exception matching an upstream kind.
	 * @param kind one of the {@code UPSTREAM_*} kinds
	 * @param phase whether the upstream had started its response
	 * @param method the outbound HTTP method
	 * @param upstream the upstream's {@code host:port} or client name
	 * @param cause the original error
	 * @return the typed exception
	 * @throws IllegalArgumentException for a kind that is not an upstream one
	 */
	public static UpstreamHangupException of(HangupKind kind, HangupPhase phase, String method, String upstream,
			@Nullable Throwable cause) {
		return switch (kind) {
			case UPSTREAM_TIMEOUT -> new UpstreamTimeoutException(phase, method, upstream, cause);
			case UPSTREAM_RESET -> new UpstreamResetException(phase, method, upstream, cause);
			case UPSTREAM_UNREACHABLE -> new UpstreamUnreachableException(phase, method, upstream, cause);
			case UPSTREAM_PROTOCOL_ERROR -> new UpstreamProtocolErrorException(phase, method, upstream, cause);
			case UPSTREAM_OVERFLOW -> new UpstreamOverflowException(phase, method, upstream, cause);
			case CLIENT_CANCEL, SERVER_CLOSE ->
				throw new IllegalArgumentException(kind + " is not an upstream hang-up");
		};
	}

	private static String describe(HangupKind kind, HangupPhase phase, String method, String upstream) {
		String what = switch (kind) {
			case UPSTREAM_TIMEOUT -> "did not respond in time";
			case UPSTREAM_RESET -> "closed the connection";
			case UPSTREAM_UNREACHABLE -> "could not be reached";
			case UPSTREAM_PROTOCOL_ERROR -> "sent a reply that is not valid HTTP";
			case UPSTREAM_OVERFLOW -> "had no free pooled connection";
			case CLIENT_CANCEL, SERVER_CLOSE -> "was stopped";
		};
		return "Upstream " + upstream + " " + what + " " + when(phase) + " (" + method + ")";
	}

}
