package io.github.hangup.server;

import io.github.hangup.HangupKind;
import io.github.hangup.HangupPhase;

/**
 * What the server components do to an {@link InboundScope}, for tests of other packages
 * that play the server's part.
 */
public final class TestScopes {

	private TestScopes() {
	}

	/** The server recorded a hang-up of the request before its response. */
	public static void recorded(InboundScope scope, HangupKind kind) {
		scope.recorded(kind, HangupPhase.BEFORE_RESPONSE);
	}

	/** The client left: the scope learns it, calls already cancelled are told. */
	public static void clientGone(InboundScope scope) {
		scope.clientGone();
	}

	/**
	 * The client left and the cancel went down the chain: every call still joined is
	 * told.
	 */
	public static void clientLeft(InboundScope scope) {
		scope.clientGone();
		scope.stopRemaining();
	}

	public static int participants(InboundScope scope) {
		return scope.participants();
	}

}
