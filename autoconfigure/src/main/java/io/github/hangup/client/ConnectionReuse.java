package io.github.hangup.client;

import java.time.Duration;
import java.util.Set;

import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpMethod;
import org.springframework.util.Assert;
import org.springframework.web.reactive.function.BodyInserters;
import org.springframework.web.reactive.function.client.ClientRequest;

/**
 * How Hangup keeps pooled keep-alive connections from going stale under its calls, and
 * what it does when one did: close a connection once it has sat idle for
 * {@code maxIdleTime}, or just before the upstream's advertised
 * {@code Keep-Alive: timeout}, and send a replayable call that failed on a stale
 * connection once more.
 *
 * @param maxIdleTime how long a pooled connection may sit idle before Hangup closes it;
 * {@link Duration#ZERO} for no limit of Hangup's own (the upstream's advertised timeout
 * is still honoured)
 * @param retry whether to send a replayable call again when its reused connection failed
 * before any response byte
 * @since 0.2.0
 */
public record ConnectionReuse(Duration maxIdleTime, boolean retry) {

	/** The defaults: idle connections closed after 20 seconds, stale failures retried. */
	public static final ConnectionReuse DEFAULTS = new ConnectionReuse(Duration.ofSeconds(20), true);

	/**
	 * Methods sent again: those RFC 9110 defines as idempotent (sending one twice has the
	 * effect of sending it once), as nginx does; POST and PATCH only with an idempotency
	 * key.
	 */
	private static final Set<HttpMethod> IDEMPOTENT = Set.of(HttpMethod.GET, HttpMethod.HEAD, HttpMethod.OPTIONS,
			HttpMethod.TRACE, HttpMethod.PUT, HttpMethod.DELETE);

	public ConnectionReuse {
		Assert.isTrue(!maxIdleTime.isNegative(), "Maximum idle time must not be negative");
	}

	/**
	 * Whether a request can be sent a second time without risk: an idempotent method or
	 * an {@code Idempotency-Key}, and no body (a body may be streamed from the inbound
	 * client, and a stream cannot be sent twice).
	 */
	static boolean isReplayable(ClientRequest request) {
		return isReplayable(request.method(), request.headers(), request.body() != BodyInserters.empty());
	}

	static boolean isReplayable(HttpMethod method, HttpHeaders headers, boolean body) {
		return !body && (IDEMPOTENT.contains(method) || headers.containsHeader("Idempotency-Key")
				|| headers.containsHeader("X-Idempotency-Key"));
	}

}
