package io.github.hangup;

import org.jspecify.annotations.Nullable;

/**
 * An outbound call hung up: the upstream timed out, reset the connection or could not be
 * reached. Carries the {@link HangupKind kind} and {@link HangupPhase phase} and keeps the
 * original error as its cause. Catch one of the three subclasses to react to a single kind.
 * <p>
 * Like Reactor Netty's {@code PrematureCloseException}, these are expected and frequent, so
 * they skip the stack trace: the cause has the interesting one.
 *
 * @since 0.1.0
 */
public abstract sealed class UpstreamHangupException extends RuntimeException
		permits UpstreamTimeoutException, UpstreamResetException, UpstreamUnreachableException {

	private static final long serialVersionUID = 1L;

	private final HangupKind kind;

	private final HangupPhase phase;

	private final String method;

	private final String upstream;

	UpstreamHangupException(HangupKind kind, HangupPhase phase, String method, String upstream,
			@Nullable Throwable cause) {
		super(describe(kind, phase, method, upstream), cause, false, false);
		this.kind = kind;
		this.phase = phase;
		this.method = method;
		this.upstream = upstream;
	}

	/**
	 * Create the exception matching an upstream kind.
	 * @param kind one of the {@code UPSTREAM_*} kinds
	 * @param phase whether the upstream had started its response
	 * @param method the outbound HTTP method
	 * @param upstream the upstream's {@code host:port} or client name
	 * @param cause the original error
	 * @return the typed exception
	 * @throws IllegalArgumentException for {@link HangupKind#CLIENT_CANCEL}
	 */
	public static UpstreamHangupException of(HangupKind kind, HangupPhase phase, String method, String upstream,
			@Nullable Throwable cause) {
		return switch (kind) {
			case UPSTREAM_TIMEOUT -> new UpstreamTimeoutException(phase, method, upstream, cause);
			case UPSTREAM_RESET -> new UpstreamResetException(phase, method, upstream, cause);
			case UPSTREAM_UNREACHABLE -> new UpstreamUnreachableException(phase, method, upstream, cause);
			case CLIENT_CANCEL -> throw new IllegalArgumentException("CLIENT_CANCEL is not an upstream hang-up");
		};
	}

	private static String describe(HangupKind kind, HangupPhase phase, String method, String upstream) {
		String what = switch (kind) {
			case UPSTREAM_TIMEOUT -> "did not respond in time";
			case UPSTREAM_RESET -> "closed the connection";
			case UPSTREAM_UNREACHABLE -> "could not be reached";
			case CLIENT_CANCEL -> "was cancelled";
		};
		String when = (phase == HangupPhase.BEFORE_RESPONSE) ? "before its response" : "during its response";
		return "Upstream " + upstream + " " + what + " " + when + " (" + method + ")";
	}

	/**
	 * Return the kind of hang-up.
	 * @return the kind
	 */
	public HangupKind getKind() {
		return this.kind;
	}

	/**
	 * Return whether the upstream had started its response.
	 * @return the phase
	 */
	public HangupPhase getPhase() {
		return this.phase;
	}

	/**
	 * Return the outbound HTTP method.
	 * @return the method name
	 */
	public String getMethod() {
		return this.method;
	}

	/**
	 * Return the upstream as {@code host:port} or client name.
	 * @return the upstream
	 */
	public String getUpstream() {
		return this.upstream;
	}

}
