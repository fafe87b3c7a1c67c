package io.github.hangup;

import java.time.Duration;

import org.jspecify.annotations.Nullable;

/**
 * One outbound call sent a second time, on a new connection, because its first attempt
 * failed in a way that proves the upstream never saw it: a reset before any response byte
 * on a keep-alive connection reused from the pool (a stale connection). The caller sees
 * only the second attempt's outcome; this is what operators see of the first.
 *
 * @param method the HTTP method of the call
 * @param upstream the upstream ({@code host:port} or client name)
 * @param reason why it was retried: {@link #STALE_CONNECTION}
 * @param connection the connection the first attempt failed on
 * @param cause the first attempt's error
 * @since 0.2.0
 */
public record HangupRetry(String method, String upstream, String reason, UpstreamConnection connection,
		@Nullable Throwable cause) {

	/** A reset before any response byte on a reused keep-alive connection. */
	public static final String STALE_CONNECTION = "STALE_CONNECTION";

	/**
	 * Return how long the failed connection had sat idle.
	 * @return the idle time
	 */
	public Duration idle() {
		return this.connection.idle();
	}

}
