package io.github.hangup;

import java.io.EOFException;
import java.io.IOException;
import java.net.BindException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.PortUnreachableException;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpTimeoutException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.UnresolvedAddressException;
import java.util.Locale;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeoutException;

import javax.net.ssl.SSLException;

import org.jspecify.annotations.Nullable;

/**
 * Classifies errors by exception type along the cause chain first and by message text
 * only as a last resort. Types from optional libraries (Reactor Netty, Netty, Spring
 * WebFlux, Apache HttpClient 5, Jetty) are matched by class name so that none of them is
 * required.
 *
 * @since 0.1.0
 */
public class DefaultHangupClassifier implements HangupClassifier {

	private static final int MAX_DEPTH = 32;

	private static final String PREMATURE_CLOSE = "reactor.netty.http.client.PrematureCloseException";

	private static final String ABORTED = "reactor.netty.channel.AbortedException";

	private static final String NETTY_TIMEOUT = "io.netty.handler.timeout.TimeoutException";

	private static final String NATIVE_IO = "io.netty.channel.unix.Errors$NativeIoException";

	/** Netty's wrapper for a failed connect that is not a {@code ConnectException}. */
	private static final String ANNOTATED_SOCKET = "io.netty.channel.AbstractChannel$AnnotatedSocketException";

	private static final String CHANNEL_BIND = "reactor.netty.ChannelBindException";

	/**
	 * Netty's codec failures: on a client, its HTTP decoder could not parse the reply.
	 */
	private static final String NETTY_CODEC = "io.netty.handler.codec.CodecException";

	/**
	 * Apache HttpClient 5: the connection closed where a response head was due. Its
	 * parser skips lines it cannot read, so a reply that is not HTTP ends the same way.
	 */
	private static final String NO_HTTP_RESPONSE = "org.apache.hc.core5.http.NoHttpResponseException";

	/** Jetty's HTTP parser failures (its {@code BadMessageException} among them). */
	private static final String JETTY_HTTP = "org.eclipse.jetty.http.HttpException$RuntimeException";

	private static final String POOL_ACQUIRE_TIMEOUT = "reactor.netty.internal.shaded.reactor.pool.PoolAcquireTimeoutException";

	private static final String POOL_PENDING_LIMIT = "reactor.netty.internal.shaded.reactor.pool.PoolAcquirePendingLimitException";

	/**
	 * Apache HttpClient 5's wait for a pooled connection timed out: its pool stayed full.
	 */
	private static final String APACHE_POOL_TIMEOUT = "org.apache.hc.core5.http.ConnectionRequestTimeoutException";

	/**
	 * How the Jetty client's {@code RejectedExecutionException} begins when the queue of
	 * requests waiting for a connection to a destination is full.
	 */
	private static final String JETTY_QUEUE_FULL = "Max requests queued per destination";

	/** Wrappers thrown by WebClient: whatever they wrap happened on an outbound call. */
	private static final String WEBCLIENT_REQUEST = "org.springframework.web.reactive.function.client.WebClientRequestException";

	private static final String WEBCLIENT_RESPONSE = "org.springframework.web.reactive.function.client.WebClientResponseException";

	@Override
	public @Nullable HangupKind classify(Throwable error, HangupSide side) {
		HangupKind kind = walk(error, side, DefaultHangupClassifier::byType);
		return (kind != null) ? kind : walk(error, side, DefaultHangupClassifier::byMessage);
	}

	/**
	 * Applies a test to each error of the cause chain, on the side that raised it.
	 */
	private static @Nullable HangupKind walk(Throwable error, HangupSide side, Test test) {
		HangupSide current = side;
		int depth = 0;
		for (Throwable t = error; t != null && depth < MAX_DEPTH; t = next(t), depth++) {
			if (isA(t, WEBCLIENT_REQUEST) || isA(t, WEBCLIENT_RESPONSE)) {
				current = HangupSide.OUTBOUND;
				continue;
			}
			HangupKind kind = test.classify(t, current);
			if (kind != null) {
				return kind;
			}
		}
		return null;
	}

	private static @Nullable Throwable next(Throwable t) {
		Throwable cause = t.getCause();
		return (cause != t) ? cause : null;
	}

	private static @Nullable HangupKind byType(Throwable t, HangupSide side) {
		if (t instanceof HangupException hangup) {
			return hangup.getKind();
		}
		// Connect-level failures first: Netty's ConnectTimeoutException is a
		// ConnectException and the JDK's HttpConnectTimeoutException is an
		// HttpTimeoutException.
		if (t instanceof ConnectException || t instanceof UnknownHostException || t instanceof NoRouteToHostException
				|| t instanceof PortUnreachableException || t instanceof UnresolvedAddressException
				|| t instanceof HttpConnectTimeoutException || t instanceof BindException || isA(t, CHANNEL_BIND)
				|| isA(t, ANNOTATED_SOCKET) || isConnectTimeout(t) || isNativeBindFailure(t)) {
			return HangupKind.UPSTREAM_UNREACHABLE;
		}
		// Before timeouts: a pool's acquire timeout is one, but it says the pool was
		// full.
		if (isA(t, POOL_ACQUIRE_TIMEOUT) || isA(t, POOL_PENDING_LIMIT) || isA(t, APACHE_POOL_TIMEOUT)
				|| (t instanceof RejectedExecutionException && t.getMessage() != null
						&& t.getMessage().startsWith(JETTY_QUEUE_FULL))) {
			return HangupKind.UPSTREAM_OVERFLOW;
		}
		if (t instanceof TimeoutException || t instanceof SocketTimeoutException || t instanceof HttpTimeoutException
				|| isA(t, NETTY_TIMEOUT)) {
			return HangupKind.UPSTREAM_TIMEOUT;
		}
		if (isA(t, PREMATURE_CLOSE) || isA(t, NO_HTTP_RESPONSE)) {
			return HangupKind.UPSTREAM_RESET;
		}
		if (side == HangupSide.OUTBOUND && t instanceof SSLException) {
			// A TLS handshake that failed (a plain-text port, an untrusted certificate):
			// no connection to speak HTTP on was made.
			return HangupKind.UPSTREAM_UNREACHABLE;
		}
		if (side == HangupSide.OUTBOUND
				&& ((isA(t, NETTY_CODEC) && !(t.getCause() instanceof SSLException)) || isA(t, JETTY_HTTP))) {
			return HangupKind.UPSTREAM_PROTOCOL_ERROR;
		}
		if (isA(t, ABORTED) || t instanceof ClosedChannelException || t instanceof EOFException || isA(t, NATIVE_IO)
				|| isConnectionLoss(t)) {
			return lostConnection(side);
		}
		return null;
	}

	private static @Nullable HangupKind byMessage(Throwable t, HangupSide side) {
		String message = t.getMessage();
		if (!(t instanceof IOException) || message == null) {
			return null;
		}
		String text = message.toLowerCase(Locale.ROOT);
		// Reactor Netty's pool found only closed connections to hand out ("Error while
		// acquiring from <pool>"): the upstream closed its idle connections.
		if (text.contains("connection reset") || text.contains("broken pipe")
				|| text.contains("connection prematurely closed") || text.contains("connection closed")
				|| text.startsWith("error while acquiring from ")) {
			return lostConnection(side);
		}
		return null;
	}

	/**
	 * A blocking {@code Socket.connect} times out with a plain
	 * {@link SocketTimeoutException}: only its message tells it from a read timeout.
	 */
	private static boolean isConnectTimeout(Throwable t) {
		return t instanceof SocketTimeoutException && t.getMessage() != null
				&& t.getMessage().toLowerCase(Locale.ROOT).startsWith("connect timed out");
	}

	/**
	 * The native transport reports a failure to bind the local address of a new
	 * connection (ports exhausted, address in use) as a plain native I/O error named
	 * after the call.
	 */
	private static boolean isNativeBindFailure(Throwable t) {
		return isA(t, NATIVE_IO) && t.getMessage() != null && t.getMessage().startsWith("bind(");
	}

	/**
	 * A {@link SocketException} that is not about connecting ("Connection reset", "Broken
	 * pipe", "Socket closed") means an established connection was lost.
	 */
	private static boolean isConnectionLoss(Throwable t) {
		return t instanceof SocketException && !(t instanceof ConnectException) && !(t instanceof BindException)
				&& !(t instanceof NoRouteToHostException) && !(t instanceof PortUnreachableException);
	}

	private static HangupKind lostConnection(HangupSide side) {
		return (side == HangupSide.INBOUND) ? HangupKind.CLIENT_CANCEL : HangupKind.UPSTREAM_RESET;
	}

	@FunctionalInterface
	private interface Test {

		@Nullable HangupKind classify(Throwable error, HangupSide side);

	}

	private static boolean isA(Throwable t, String className) {
		for (Class<?> type = t.getClass(); type != null && type != Throwable.class; type = type.getSuperclass()) {
			if (type.getName().equals(className)) {
				return true;
			}
		}
		return false;
	}

}
