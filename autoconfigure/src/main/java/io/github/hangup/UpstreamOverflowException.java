package io.github.hangup;

import org.jspecify.annotations.Nullable;

/**
 * No pooled connection to the upstream could be had: the pool and its queue of pending
 * acquires were full, or the wait outlasted the pending-acquire timeout
 * ({@link HangupKind#UPSTREAM_OVERFLOW}).
 *
 * @since 0.2.0
 */
public final class UpstreamOverflowException extends UpstreamHangupException {

	private static final long serialVersionUID = 1L;

	UpstreamOverflowException(HangupPhase phase, String method, String upstream, @Nullable Throwable cause) {
		super(HangupKind.UPSTREAM_OVERFLOW, phase, method, upstream, cause);
	}

}
