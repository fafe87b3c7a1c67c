package io.github.hangup;

import org.jspecify.annotations.Nullable;

/**
 * An outbound call was stopped because the inbound client it was made for went away
 * ({@link HangupKind#CLIENT_CANCEL}). Signalled to whoever still waits on the call
 * outside the request's reactive chain (a {@code block()}, a {@code toFuture()}, a
 * detached {@code subscribe()}), so that none of them waits forever; also the error of a
 * call whose request body was cut short by the inbound client leaving mid-upload.
 *
 * @since 0.2.0
 */
public final class ClientCancelException extends HangupException {

	private static final long serialVersionUID = 1L;

	ClientCancelException(HangupPhase phase, String method, String upstream, @Nullable Throwable cause) {
		super("Call " + method + " to " + upstream + " stopped " + when(phase)
				+ ": the inbound client it was made for went away", HangupKind.CLIENT_CANCEL, phase, method, upstream,
				cause);
	}

}
