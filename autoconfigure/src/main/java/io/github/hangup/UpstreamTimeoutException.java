package io.github.hangup;

import org.jspecify.annotations.Nullable;

/**
 * The upstream did not answer, or stalled mid-body, within the response timeout
 * ({@link HangupKind#UPSTREAM_TIMEOUT}).
 *
 * @since 0.1.0
 */
public final class UpstreamTimeoutException extends UpstreamHangupException {

	private static final long serialVersionUID = 1L;

	UpstreamTimeoutException(HangupPhase phase, String method, String upstream, @Nullable Throwable cause) {
		super(HangupKind.UPSTREAM_TIMEOUT, phase, method, upstream, cause);
	}

}
