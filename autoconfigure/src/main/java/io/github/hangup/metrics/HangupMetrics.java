package io.github.hangup.metrics;

/**
 * Names of the meters recorded by Hangup and of their tags, in one place.
 *
 * @since 0.1.0
 */
public final class HangupMetrics {

	/**
	 * Timer of inbound hang-ups; its duration is how long the request ran before it hung
	 * up. Tags: {@link #KIND}, {@link #PHASE}, {@link #METHOD}, {@link #URI}.
	 */
	public static final String SERVER_HANGUPS = "http.server.hangups";

	/**
	 * Timer of outbound hang-ups; its duration is how long the call ran before it hung
	 * up. Tags: {@link #CONNECTION}, {@link #KIND}, {@link #PHASE}, {@link #METHOD},
	 * {@link #UPSTREAM}.
	 */
	public static final String CLIENT_HANGUPS = "http.client.hangups";

	/**
	 * Tag of {@link #CLIENT_HANGUPS}: whether the call went out on a {@code NEW} or a
	 * {@code REUSED} pooled connection, {@code UNKNOWN} when it got none or the connector
	 * does not tell.
	 */
	public static final String CONNECTION = "connection";

	/**
	 * Counter of outbound calls sent again after a stale keep-alive connection failed
	 * them. Tags: {@link #METHOD}, {@link #REASON}, {@link #UPSTREAM}.
	 */
	public static final String CLIENT_RETRIES = "http.client.retries";

	/**
	 * Tag of {@link #CLIENT_RETRIES}: why a call was sent again.
	 */
	public static final String REASON = "reason";

	/**
	 * Name of the gauge of outbound calls in flight.
	 */
	public static final String CLIENT_CALLS_ACTIVE = "hangup.client.calls.active";

	/**
	 * Gauge of inbound requests currently processed under a cancellation scope.
	 */
	public static final String SERVER_SCOPES_ACTIVE = "hangup.server.scopes.active";

	/** Tag: the {@link io.github.hangup.HangupKind}. */
	public static final String KIND = "kind";

	/** Tag: the {@link io.github.hangup.HangupPhase}. */
	public static final String PHASE = "phase";

	/** Tag: the HTTP method, or {@code OTHER} for a non-standard one. */
	public static final String METHOD = "method";

	/** Tag: the matched route pattern of the inbound request, or {@link #UNKNOWN}. */
	public static final String URI = "uri";

	/** Tag: the upstream {@code host:port} or client name, capped to a bounded set. */
	public static final String UPSTREAM = "upstream";

	/** Tag value when no route pattern matched. */
	public static final String UNKNOWN = "UNKNOWN";

	/** Tag value that replaces values beyond a cap. */
	public static final String OTHER = "OTHER";

	private HangupMetrics() {
	}

}
