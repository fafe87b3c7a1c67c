package io.github.hangup;

import org.jspecify.annotations.Nullable;

/**
 * An outbound call ended in a hang-up: the upstream hung up
 * ({@link UpstreamHangupException}), or the call was stopped because the inbound request
 * it served ended first ({@link ClientCancelException}, {@link ServerCloseException}).
 * Carries the {@link HangupKind kind} and {@link HangupPhase phase}.
 * <p>
 * Like Reactor Netty's {@code PrematureCloseException}, these are expected and frequent,
 * so they skip the stack trace: the cause, when there is one, has the interesting one.
 *
 * @since 0.2.0
 */
public abstract sealed class HangupException extends RuntimeException
		permits UpstreamHangupException, ClientCancelException, ServerCloseException {

	private static final long serialVersionUID = 1L;

	/** Set once, by the factory that creates the exception, before it is thrown. */
	private transient @Nullable UpstreamConnection connection;

	private final HangupKind kind;

	private final HangupPhase phase;

	private final String method;

	private final String upstream;

	HangupException(String message, HangupKind kind, HangupPhase phase, String method, String upstream,
			@Nullable Throwable cause) {
		super(message, cause, false, false);
		this.kind = kind;
		this.phase = phase;
		this.method = method;
		this.upstream = upstream;
	}

	/**
	 * Create the exception matching a kind.
	 * @param kind the kind of hang-up
	 * @param phase whether the upstream had started its response
	 * @param method the outbound HTTP method
	 * @param upstream the upstream's {@code host:port} or client name
	 * @param cause the original error, or {@code null} for a stopped call
	 * @return the typed exception
	 */
	public static HangupException of(HangupKind kind, HangupPhase phase, String method, String upstream,
			@Nullable Throwable cause) {
		return switch (kind) {
			case CLIENT_CANCEL -> new ClientCancelException(phase, method, upstream, cause);
			case SERVER_CLOSE -> new ServerCloseException(phase, method, upstream, cause);
			default -> UpstreamHangupException.of(kind, phase, method, upstream, cause);
		};
	}

	/**
	 * Create the exception for a hang-up of the given kind on a known upstream
	 * connection.
	 * @param kind the kind
	 * @param phase whether the upstream had started its response
	 * @param method the HTTP method of the call
	 * @param upstream the upstream
	 * @param cause the error behind it, or {@code null} for a cancel
	 * @param connection the pooled connection the call went out on, or {@code null}
	 * @return the exception
	 * @since 0.2.0
	 */
	public static HangupException of(HangupKind kind, HangupPhase phase, String method, String upstream,
			@Nullable Throwable cause, @Nullable UpstreamConnection connection) {
		HangupException exception = of(kind, phase, method, upstream, cause);
		exception.connection = connection;
		return exception;
	}

	/**
	 * Return the pooled upstream connection the call went out on, when known: a reset
	 * before the response on a {@link UpstreamConnection#reused() reused} one is a stale
	 * connection.
	 * @return the connection, or {@code null}
	 * @since 0.2.0
	 */
	public @Nullable UpstreamConnection getConnection() {
		return this.connection;
	}

	static String when(HangupPhase phase) {
		return (phase == HangupPhase.BEFORE_RESPONSE) ? "before its response" : "during its response";
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
