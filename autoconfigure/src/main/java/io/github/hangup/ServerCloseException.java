package io.github.hangup;

import org.jspecify.annotations.Nullable;

/**
 * An outbound call was stopped because this application's server closed the inbound
 * request it was made for, as when a shutdown outlasts its graceful period
 * ({@link HangupKind#SERVER_CLOSE}).
 *
 * @since 0.2.0
 */
public final class ServerCloseException extends HangupException {

	private static final long serialVersionUID = 1L;

	ServerCloseException(HangupPhase phase, String method, String upstream, @Nullable Throwable cause) {
		super("Call " + method + " to " + upstream + " stopped " + when(phase)
				+ ": the server closed the inbound request it was made for", HangupKind.SERVER_CLOSE, phase, method,
				upstream, cause);
	}

}
