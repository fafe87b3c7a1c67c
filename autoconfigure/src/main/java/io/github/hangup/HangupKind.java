package io.github.hangup;

/**
 * What kind of "socket hang up" happened. Modelled on Micrometer's {@code Outcome}: a
 * small closed set, safe to use as a metric tag value.
 *
 * @since 0.1.0
 */
public enum HangupKind {

	/**
	 * The inbound client went away (connection closed or reset, HTTP/2 RST_STREAM, a
	 * write to a dead socket) before the response completed. Nothing can be sent back.
	 * Usually a browser refresh, a closed tab or a client-side timeout: watch the rate,
	 * not each event; a spike often means the service became slower than its clients'
	 * patience.
	 */
	CLIENT_CANCEL(HangupSide.INBOUND, 0),

	/**
	 * This application's own server closed the request before its response completed: a
	 * shutdown that outlasted its graceful period closed the connections still open.
	 * Nothing can be sent; outbound calls made for the request are stopped. Not the
	 * client's doing: expect a few around each deploy, and raise
	 * {@code spring.lifecycle.timeout-per-shutdown-phase} if they matter (long-lived
	 * streams are closed by any deploy).
	 *
	 * @since 0.2.0
	 */
	SERVER_CLOSE(HangupSide.INBOUND, 0),

	/**
	 * The upstream did not answer, or stalled mid-body, within the response timeout (or
	 * an application timeout fired on an outbound call). Answered with 504 Gateway
	 * Timeout. Check the upstream's latency and load, or raise
	 * {@code hangup.client.response-timeout} if the work is legitimately slow.
	 */
	UPSTREAM_TIMEOUT(HangupSide.OUTBOUND, 504),

	/**
	 * The upstream closed or reset the connection before or during its response: Node's
	 * "socket hang up". Answered with 502 Bad Gateway. Typical causes are an upstream
	 * crash or restart, or a keep-alive connection the upstream closed while it sat idle
	 * in the pool: keep the client's idle time below the upstream's keep-alive timeout.
	 */
	UPSTREAM_RESET(HangupSide.OUTBOUND, 502),

	/**
	 * No connection could be made: connection refused, connect timeout or unknown host.
	 * Answered with 502 Bad Gateway. Check that the upstream is running and that its
	 * address, DNS name and port are right.
	 */
	UPSTREAM_UNREACHABLE(HangupSide.OUTBOUND, 502),

	/**
	 * The upstream's reply was not valid HTTP (Envoy's "upstream protocol error"): not
	 * HTTP at all, a header cut short by a close, an invalid status code or status
	 * outside 100-599, conflicting or invalid {@code Content-Length}, a header too large,
	 * an invalid chunk. Answered with 502 Bad Gateway before the response, a visible cut
	 * during it. The upstream (or something between: a TLS port spoken to in plain text,
	 * an HTTP/2-only server) is broken: the endpoint says what was wrong with the reply.
	 *
	 * @since 0.2.0
	 */
	UPSTREAM_PROTOCOL_ERROR(HangupSide.OUTBOUND, 502),

	/**
	 * The call never left: the connection pool to the upstream was full, its queue of
	 * pending acquires too, or the wait for a connection outlasted the pool's
	 * pending-acquire timeout (Envoy's "upstream overflow"). This proxy's own capacity,
	 * not a failure of the upstream. Answered with 503 Service Unavailable and
	 * {@code Retry-After}. Raise the pool's maximum connections or pending acquires, or
	 * add upstream capacity.
	 *
	 * @since 0.2.0
	 */
	UPSTREAM_OVERFLOW(HangupSide.OUTBOUND, 503);

	private final HangupSide blamed;

	private final int defaultStatus;

	HangupKind(HangupSide blamed, int defaultStatus) {
		this.blamed = blamed;
		this.defaultStatus = defaultStatus;
	}

	/**
	 * Return whether this kind is a failure of an upstream (outbound) call rather than an
	 * end of the inbound request (its client left, or this server closed it).
	 * @return {@code true} for the {@code UPSTREAM_*} kinds
	 */
	public boolean isUpstream() {
		return this.blamed == HangupSide.OUTBOUND;
	}

	/**
	 * Return the status answered to the inbound client for this kind unless configured
	 * otherwise.
	 * @return the HTTP status, or {@code 0} when nothing can be answered
	 */
	public int defaultStatus() {
		return this.defaultStatus;
	}

}
