package io.github.hangup.client;

import java.time.Duration;
import java.util.Set;

import io.github.hangup.HangupException;
import io.github.hangup.HangupKind;
import io.github.hangup.HangupPhase;
import io.github.hangup.HangupRetry;
import io.github.hangup.UpstreamConnection;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Mono;

import org.springframework.http.client.reactive.ClientHttpRequest;
import org.springframework.web.reactive.function.client.ClientRequest;
import org.springframework.web.reactive.function.client.ClientResponse;
import org.springframework.web.reactive.function.client.ExchangeFunction;

/**
 * The pooled connections of one outbound call: learns which connection each attempt went
 * out on, sends an attempt that failed on a stale connection again when that is safe, and
 * gives the connection back to the pool with what the upstream said of its keep-alive.
 */
final class StaleRetry {

	/**
	 * A pooled connection found closed before the call could be written on it; its past
	 * is unknown.
	 */
	static final UpstreamConnection CLOSED_IN_POOL = new UpstreamConnection(true, Duration.ZERO, 0);

	/** The most retries of one call, each after a failure on a reused connection. */
	static final int MAX_RETRIES = 3;

	private final OutboundCall call;

	private final ConnectionReuse reuse;

	/** The idle pooled connections to the call's upstream. */
	private final Set<Object> idle;

	/** The connector's request of the attempt being written or answered. */
	private volatile @Nullable Object nativeRequest;

	/** The pooled connection of that attempt, when known. */
	private volatile @Nullable UpstreamConnection connection;

	/**
	 * Attempts written, Reactor Netty's own retries included; only the event loop writes
	 * it.
	 */
	private volatile int writes;

	/** Retries sent so far; each follows the failure of the attempt before it. */
	private volatile int retries;

	/** {@link #writes} when the current attempt started. */
	private volatile int attemptWrites;

	private volatile @Nullable String keepAlive;

	StaleRetry(OutboundCall call, ConnectionReuse reuse, Set<Object> idle) {
		this.call = call;
		this.reuse = reuse;
		this.idle = idle;
	}

	@Nullable UpstreamConnection connection() {
		return this.connection;
	}

	/** Whether an attempt started to be written on a connection. */
	boolean isWritten() {
		return this.writes > 0;
	}

	/**
	 * An attempt is being written to the connector's request: learn its connection, once
	 * per attempt (Reactor Netty writes the request again when it retries by itself).
	 */
	@SuppressWarnings("NonAtomicVolatileUpdate") // only the connection's event loop
													// writes
	void connected(ClientHttpRequest httpRequest) {
		Object nativeRequest = httpRequest.getNativeRequest();
		Object previous = this.nativeRequest;
		if (nativeRequest == previous) {
			return;
		}
		this.nativeRequest = nativeRequest;
		// Reactor Netty retries by itself a request whose connection closed before it was
		// sent; when another call's retry closed that connection, the upstream never saw
		// the request, and the attempt counts as written once.
		if (previous == null || this.writes == this.attemptWrites || !PooledConnections.isClosedForRetry(previous)) {
			this.writes++;
		}
		this.connection = PooledConnections.acquired(nativeRequest);
	}

	/** The response arrived: remember how long the upstream keeps its connection. */
	void responded(ClientResponse response) {
		this.keepAlive = response.headers().asHttpHeaders().getFirst("Keep-Alive");
	}

	/** The body was read to its end: the connection goes back to the pool. */
	void released() {
		Object nativeRequest = this.nativeRequest;
		if (nativeRequest != null) {
			PooledConnections.released(nativeRequest, this.keepAlive, this.reuse.maxIdleTime(), this.idle);
		}
	}

	/**
	 * Exchange the request and, when its attempt failed on a stale connection, again.
	 */
	Mono<ClientResponse> exchange(ExchangeFunction next, ClientRequest view) {
		Mono<ClientResponse> response = next.exchange(view);
		return this.reuse.retry() ? retryIfStale(response, next, view, ConnectionReuse.isReplayable(view)) : response;
	}

	/**
	 * The retry is meant for a new connection, but the pool hands out whatever idle one
	 * it has: one released by another call since the idle ones were closed may be stale
	 * too. A retry that failed on a reused connection is then tried again, as Go's
	 * transport does, at most {@link #MAX_RETRIES} times; one that failed on a new
	 * connection never.
	 */
	@SuppressWarnings("NonAtomicVolatileUpdate") // attempts follow one another
	private Mono<ClientResponse> retryIfStale(Mono<ClientResponse> response, ExchangeFunction next, ClientRequest view,
			boolean replayable) {
		OutboundCall call = this.call;
		return response.onErrorResume((error) -> {
			UpstreamConnection failedOn = staleConnection(error, replayable);
			// A retry gets what is left of the call's response timeout, not a fresh one.
			if (failedOn == null || !call.timeout().retrying()) {
				return Mono.error(error);
			}
			this.retries++;
			this.attemptWrites = this.writes;
			call.retried(
					new HangupRetry(call.method(), call.upstream(), HangupRetry.STALE_CONNECTION, failedOn, error));
			return retryIfStale(PooledConnections.closeIdle(this.idle).then(Mono.defer(() -> next.exchange(view))),
					next, view, replayable);
		});
	}

	/**
	 * The stale pooled connection a failed attempt went out on, if the failure proves the
	 * upstream never saw the request and the call may go again: while it is retryable and
	 * was retried fewer than {@link #MAX_RETRIES} times, and its connector did not resend
	 * this attempt by itself, either
	 * <ul>
	 * <li>it was never written, because the pool had only closed connections to hand out
	 * (any request: not a byte of it, body included, was sent), or</li>
	 * <li>a replayable request was reset before any response byte on a reused
	 * connection.</li>
	 * </ul>
	 * @return the connection, or {@code null} when the call must not go again
	 */
	static @Nullable UpstreamConnection staleAttempt(AbstractOutboundCall call, Throwable error, int retries,
			int written, @Nullable UpstreamConnection failedOn, boolean replayable) {
		if (retries >= MAX_RETRIES || !call.isRetryable() || error instanceof HangupException) {
			return null;
		}
		if (written == 0) {
			return PooledConnections.isClosedPool(error) ? CLOSED_IN_POOL : null;
		}
		if (!replayable || written != 1 || failedOn == null || !failedOn.reused()) {
			return null;
		}
		return (call.kind(error, HangupPhase.BEFORE_RESPONSE) == HangupKind.UPSTREAM_RESET) ? failedOn : null;
	}

	/** The stale connection the failed attempt went out on, if it may go again. */
	private @Nullable UpstreamConnection staleConnection(Throwable error, boolean replayable) {
		return this.call.staleAttempt(error, this.retries, this.writes - this.attemptWrites, this.connection,
				replayable);
	}

}
