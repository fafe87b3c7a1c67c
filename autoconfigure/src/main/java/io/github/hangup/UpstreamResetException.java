package io.github.hangup;

import org.jspecify.annotations.Nullable;

/**
 * The upstream closed or reset the connection before its response completed
 * ({@link HangupKind#UPSTREAM_RESET}).
 *
 * @since 0.1.0
 */
public final class UpstreamResetException extends UpstreamHangupException {

	private static final long serialVersionUID = 1L;

	UpstreamResetException(HangupPhase phase, String method, String upstream, @Nullable Throwable cause) {
		super(HangupKind.UPSTREAM_RESET, phase, method, upstream, cause);
	}

}
