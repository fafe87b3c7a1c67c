package io.github.hangup;

import org.jspecify.annotations.Nullable;

/**
 * The upstream could not be connected to: refused, connect timeout or unknown host
 * ({@link HangupKind#UPSTREAM_UNREACHABLE}).
 *
 * @since 0.1.0
 */
public final class UpstreamUnreachableException extends UpstreamHangupException {

	private static final long serialVersionUID = 1L;

	UpstreamUnreachableException(HangupPhase phase, String method, String upstream, @Nullable Throwable cause) {
		super(HangupKind.UPSTREAM_UNREACHABLE, phase, method, upstream, cause);
	}

}
