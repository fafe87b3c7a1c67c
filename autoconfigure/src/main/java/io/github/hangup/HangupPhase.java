package io.github.hangup;

/**
 * When, relative to the response, a hang-up happened.
 *
 * @since 0.1.0
 */
public enum HangupPhase {

	/**
	 * Nothing was committed yet: the status and headers can still be chosen.
	 */
	BEFORE_RESPONSE,

	/**
	 * Status and headers were already sent (or received, on the outbound side); the body
	 * was cut short.
	 */
	DURING_RESPONSE

}
