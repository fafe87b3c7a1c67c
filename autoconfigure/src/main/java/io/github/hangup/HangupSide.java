package io.github.hangup;

/**
 * Which side of a proxy observed a hang-up.
 *
 * @since 0.1.0
 */
public enum HangupSide {

	/**
	 * The server side: a request received by this application.
	 */
	INBOUND,

	/**
	 * The client side: a call this application made to an upstream.
	 */
	OUTBOUND

}
