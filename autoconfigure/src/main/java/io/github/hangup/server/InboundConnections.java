package io.github.hangup.server;

import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Mono;

import org.springframework.http.server.reactive.ServerHttpRequest;
import org.springframework.http.server.reactive.ServerHttpRequestDecorator;
import org.springframework.http.server.reactive.ServerHttpResponse;
import org.springframework.http.server.reactive.ServerHttpResponseDecorator;
import org.springframework.util.ClassUtils;

/**
 * What the server components need of an inbound request's connection (or HTTP/2 stream):
 * its protocol, whether it is open, how to close it, when its response ended. Known with
 * Reactor Netty; unknown ({@code null}, or at once) with other servers, mocks and custom
 * decorators.
 */
final class InboundConnections {

	private static final boolean REACTOR_NETTY_PRESENT = ClassUtils.isPresent("reactor.netty.Connection",
			InboundConnections.class.getClassLoader());

	private InboundConnections() {
	}

	/**
	 * Close the inbound connection (or HTTP/2 stream) so that a committed response is
	 * seen as truncated instead of complete.
	 * @return a {@code Mono} that completes once the connection is closed, so that the
	 * request's processing (and its observation) ends: completing before would race the
	 * close with a final write of the response, never completing would leave it open; the
	 * error itself when the connection cannot be reached
	 */
	static Mono<Void> abort(ServerHttpResponse response, Throwable error) {
		Object connection = nativeConnection(response);
		return (connection != null) ? ReactorNetty.close(connection) : Mono.error(error);
	}

	static @Nullable String protocol(ServerHttpRequest request) {
		if (!REACTOR_NETTY_PRESENT) {
			return null;
		}
		try {
			return ReactorNetty.protocol(ServerHttpRequestDecorator.getNativeRequest(request));
		}
		catch (RuntimeException ex) {
			// Not a server request with a native one (a mock or a custom decorator).
			return null;
		}
	}

	/**
	 * Return a {@code Mono} that completes once the response has been written in full or
	 * its connection (or HTTP/2 stream) closed; at once when the server is not Reactor
	 * Netty.
	 */
	static Mono<Void> responseEnded(ServerHttpResponse response) {
		Object connection = nativeConnection(response);
		return (connection != null) ? ReactorNetty.ended(connection) : Mono.empty();
	}

	static @Nullable Boolean isConnectionOpen(ServerHttpResponse response) {
		Object connection = nativeConnection(response);
		return (connection != null) ? ReactorNetty.isOpen(connection) : null;
	}

	private static @Nullable Object nativeConnection(ServerHttpResponse response) {
		if (!REACTOR_NETTY_PRESENT) {
			return null;
		}
		try {
			Object nativeResponse = ServerHttpResponseDecorator.getNativeResponse(response);
			return ReactorNetty.isConnection(nativeResponse) ? nativeResponse : null;
		}
		catch (RuntimeException ex) {
			// Not a server response with a native one (a mock or a custom decorator).
			return null;
		}
	}

	/**
	 * Isolates the Reactor Netty types so that other servers never load them.
	 */
	private static final class ReactorNetty {

		static @Nullable String protocol(Object nativeRequest) {
			return (nativeRequest instanceof reactor.netty.http.server.HttpServerRequest request) ? request.protocol()
					: null;
		}

		static boolean isConnection(Object nativeResponse) {
			return nativeResponse instanceof reactor.netty.Connection;
		}

		static boolean isOpen(Object connection) {
			return ((reactor.netty.Connection) connection).channel().isActive();
		}

		static Mono<Void> ended(Object connection) {
			return (connection instanceof reactor.netty.channel.ChannelOperations<?, ?> operations)
					? operations.onTerminate() : ((reactor.netty.Connection) connection).onDispose();
		}

		static Mono<Void> close(Object connection) {
			io.netty.channel.Channel channel = ((reactor.netty.Connection) connection).channel();
			return Mono.create((sink) -> channel.close().addListener((closed) -> sink.success()));
		}

	}

}
