package io.github.hangup.client;

import java.time.Duration;
import java.util.Set;

import io.github.hangup.UpstreamConnection;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Mono;
import reactor.netty.Connection;

import org.springframework.util.ClassUtils;

/**
 * Where a call learns which pooled connection it went out on and hands it back: through
 * {@link ConnectionUse} when the connector is Reactor Netty, nothing otherwise.
 */
final class PooledConnections {

	private static final boolean REACTOR_NETTY_PRESENT = ClassUtils.isPresent("reactor.netty.Connection",
			PooledConnections.class.getClassLoader());

	/** How Reactor Netty's pool starts the message of {@link #isClosedPool its error}. */
	static final String CLOSED_POOL_MESSAGE = "Error while acquiring from ";

	private PooledConnections() {
	}

	/**
	 * A request starts on the connection behind {@code nativeRequest}.
	 * @return what the connection is, or {@code null} when not known
	 */
	static @Nullable UpstreamConnection acquired(Object nativeRequest) {
		return REACTOR_NETTY_PRESENT ? ReactorNetty.acquired(nativeRequest) : null;
	}

	/**
	 * The response on the connection behind {@code nativeRequest} was read in full.
	 */
	static void released(Object nativeRequest, @Nullable String keepAlive, Duration maxIdle, Set<Object> idle) {
		if (REACTOR_NETTY_PRESENT) {
			ReactorNetty.released(nativeRequest, keepAlive, maxIdle, idle);
		}
	}

	/**
	 * Whether the connection behind {@code nativeRequest} was closed by another call's
	 * retry while it sat idle.
	 */
	static boolean isClosedForRetry(Object nativeRequest) {
		return REACTOR_NETTY_PRESENT && ReactorNetty.isClosedForRetry(nativeRequest);
	}

	/**
	 * Whether {@code error} says the pool had only closed connections to hand out:
	 * Reactor Netty takes a second one when the first it picked was closed in the
	 * meantime, and gives up with this error when that one was closed too, as happens
	 * when an upstream closes several idle connections at once. The request was not
	 * written at all.
	 */
	static boolean isClosedPool(Throwable error) {
		int depth = 0;
		for (Throwable t = error; t != null && depth < 32; t = (t.getCause() != t) ? t.getCause() : null, depth++) {
			if (t instanceof java.io.IOException && t.getMessage() != null
					&& t.getMessage().startsWith(CLOSED_POOL_MESSAGE)) {
				return true;
			}
		}
		return false;
	}

	/**
	 * Close the idle connections in {@code idle}, the ones to the upstream of a call
	 * about to be sent again.
	 * @return a {@code Mono} that completes once they are closed
	 */
	static Mono<Void> closeIdle(Set<Object> idle) {
		return (REACTOR_NETTY_PRESENT && !idle.isEmpty()) ? ConnectionUse.closeIdle(idle) : Mono.empty();
	}

	/**
	 * Isolates the Reactor Netty types so that other connectors never load them.
	 */
	private static final class ReactorNetty {

		static @Nullable UpstreamConnection acquired(Object nativeRequest) {
			return (nativeRequest instanceof Connection connection) ? ConnectionUse.acquired(connection.channel())
					: null;
		}

		static boolean isClosedForRetry(Object nativeRequest) {
			return nativeRequest instanceof Connection connection
					&& ConnectionUse.isClosedForRetry(connection.channel());
		}

		static void released(Object nativeRequest, @Nullable String keepAlive, Duration maxIdle, Set<Object> idle) {
			if (nativeRequest instanceof Connection connection) {
				ConnectionUse.released(connection, keepAlive, maxIdle, idle);
			}
		}

	}

}
