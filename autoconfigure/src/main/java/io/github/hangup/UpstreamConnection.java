package io.github.hangup;

import java.time.Duration;

/**
 * The pooled upstream connection an outbound call went out on, as far as Hangup saw it:
 * whether it was new or reused from the pool, how long it had sat idle before this call
 * and how many calls it had carried before. A reset before any response byte on a reused
 * connection is most likely a stale keep-alive connection: the upstream, or a load
 * balancer in between, closed it while it sat idle.
 *
 * @param reused whether the connection had carried calls before this one
 * @param idle how long it had sat idle in the pool before this call; zero when new
 * @param requests how many calls it had carried before this one
 * @since 0.2.0
 */
public record UpstreamConnection(boolean reused, Duration idle, int requests) {

	/** A connection opened for this call. */
	public static final UpstreamConnection NEW = new UpstreamConnection(false, Duration.ZERO, 0);

	/**
	 * Return the bounded tag value for this connection.
	 * @return {@code NEW} or {@code REUSED}
	 */
	public String tagValue() {
		return this.reused ? "REUSED" : "NEW";
	}

}
