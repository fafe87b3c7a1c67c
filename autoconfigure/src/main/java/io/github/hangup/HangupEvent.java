package io.github.hangup;

import java.time.Duration;

import org.jspecify.annotations.Nullable;

/**
 * One hang-up, recorded exactly once by the side that observed it.
 *
 * @param side the side that observed the hang-up
 * @param kind what happened
 * @param phase whether the response had started
 * @param method the HTTP method of the inbound request or outbound call
 * @param route the matched route pattern of the inbound request, or {@code null} when none
 * matched (always {@code null} for outbound events made outside a request)
 * @param upstream the upstream ({@code host:port} or client name), or {@code null} when not
 * known
 * @param elapsed time from the start of the request or call to the hang-up
 * @param status the HTTP status sent to the inbound client because of it, or {@code null}
 * when none was sent
 * @param cause the error behind it, or {@code null} for a cancel
 * @param protocol the inbound request's protocol ({@code HTTP/1.1}, {@code HTTP/2.0}), or
 * {@code null} when not known (always {@code null} for outbound events)
 * @since 0.1.0
 */
public record HangupEvent(HangupSide side, HangupKind kind, HangupPhase phase, String method, @Nullable String route,
		@Nullable String upstream, Duration elapsed, @Nullable Integer status, @Nullable Throwable cause,
		@Nullable String protocol) {

	/**
	 * Create an event whose protocol is not known.
	 * @param side the side that observed the hang-up
	 * @param kind what happened
	 * @param phase whether the response had started
	 * @param method the HTTP method
	 * @param route the matched route pattern, or {@code null}
	 * @param upstream the upstream, or {@code null}
	 * @param elapsed time from the start of the request or call to the hang-up
	 * @param status the HTTP status sent because of it, or {@code null}
	 * @param cause the error behind it, or {@code null}
	 */
	public HangupEvent(HangupSide side, HangupKind kind, HangupPhase phase, String method, @Nullable String route,
			@Nullable String upstream, Duration elapsed, @Nullable Integer status, @Nullable Throwable cause) {
		this(side, kind, phase, method, route, upstream, elapsed, status, cause, null);
	}

	/**
	 * Return whether the inbound request was made over HTTP/2, where a client that leaves
	 * resets its stream and keeps its connection.
	 * @return {@code true} for HTTP/2
	 * @since 0.2.0
	 */
	public boolean isHttp2() {
		return this.protocol != null && this.protocol.startsWith("HTTP/2");
	}

}
