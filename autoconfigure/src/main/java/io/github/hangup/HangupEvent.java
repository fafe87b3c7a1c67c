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
 * @since 0.1.0
 */
public record HangupEvent(HangupSide side, HangupKind kind, HangupPhase phase, String method, @Nullable String route,
		@Nullable String upstream, Duration elapsed, @Nullable Integer status, @Nullable Throwable cause) {

}
