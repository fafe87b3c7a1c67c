package io.github.hangup.server;

import java.time.Duration;
import java.util.Set;

import io.github.hangup.HangupClassifier;
import io.github.hangup.HangupEvent;
import io.github.hangup.HangupException;
import io.github.hangup.HangupKind;
import io.github.hangup.HangupPhase;
import io.github.hangup.HangupRecorder;
import io.github.hangup.HangupSide;
import io.github.hangup.InboundScope;
import org.jspecify.annotations.Nullable;

import org.springframework.http.HttpMethod;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.server.PathContainer;
import org.springframework.http.server.reactive.ServerHttpRequest;
import org.springframework.http.server.reactive.ServerHttpRequestDecorator;
import org.springframework.http.server.reactive.ServerHttpResponse;
import org.springframework.http.server.reactive.ServerHttpResponseDecorator;
import org.springframework.util.ClassUtils;
import org.springframework.web.reactive.HandlerMapping;
import org.springframework.web.reactive.function.server.RouterFunctions;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.util.pattern.PathPattern;

/**
 * Inbound-side hang-up bookkeeping shared by {@link HangupWebFilter} and
 * {@link HangupWebExceptionHandler}: classification, the once-only recording guard, and
 * access to the native connection.
 *
 * @since 0.1.0
 */
public final class InboundHangups {

	private static final boolean REACTOR_NETTY_PRESENT = ClassUtils.isPresent("reactor.netty.Connection",
			InboundHangups.class.getClassLoader());

	private final HangupClassifier classifier;

	private final HangupRecorder recorder;

	private final @Nullable ServerShutdown shutdown;

	/**
	 * Create the inbound bookkeeping.
	 * @param classifier decides which errors are hang-ups
	 * @param recorder receives the hang-ups
	 */
	public InboundHangups(HangupClassifier classifier, HangupRecorder recorder) {
		this(classifier, recorder, null);
	}

	/**
	 * Create the inbound bookkeeping.
	 * @param classifier decides which errors are hang-ups
	 * @param recorder receives the hang-ups
	 * @param shutdown tells requests closed by the server's shutdown from clients that left
	 * @since 0.2.0
	 */
	public InboundHangups(HangupClassifier classifier, HangupRecorder recorder, @Nullable ServerShutdown shutdown) {
		this.classifier = classifier;
		this.recorder = recorder;
		this.shutdown = shutdown;
	}

	/**
	 * Classify an error that reached the inbound side.
	 */
	@Nullable HangupKind classify(ServerWebExchange exchange, Throwable error) {
		HangupKind kind = this.classifier.classify(error, HangupSide.INBOUND);
		if (kind == HangupKind.CLIENT_CANCEL && !(error instanceof HangupException)
				&& Boolean.TRUE.equals(isConnectionOpen(exchange.getResponse()))) {
			// A lost connection while our own client is still connected must be an upstream
			// one that reached us unwrapped (a WebClient without the Hangup filter).
			return this.classifier.classify(error, HangupSide.OUTBOUND);
		}
		return kind;
	}

	/**
	 * The client left while its request's processing is being cancelled: calls in the chain
	 * stop with the cancel, the others are stopped once it went through.
	 */
	void clientLeaving(ServerWebExchange exchange, InboundScope scope) {
		clientGone(exchange, scope, null, false);
	}

	/**
	 * The client left and nothing else will tell the request's outbound calls.
	 */
	void clientGone(ServerWebExchange exchange, InboundScope scope, @Nullable Throwable cause) {
		clientGone(exchange, scope, cause, true);
	}

	private void clientGone(ServerWebExchange exchange, InboundScope scope, @Nullable Throwable cause,
			boolean stopCalls) {
		HangupPhase phase = phase(exchange);
		HangupKind kind = goneKind();
		Set<String> cancelled = scope.ended(kind);
		if (scope.claimRecording()) {
			if (scope.goneKind() == HangupKind.SERVER_CLOSE && this.shutdown != null) {
				this.shutdown.closed();
			}
			String upstreams = cancelled.isEmpty() ? null : String.join(", ", cancelled);
			record(exchange, scope, scope.goneKind(), phase, null, upstreams, cause);
		}
		if (stopCalls) {
			scope.stopRemaining();
		}
	}

	/**
	 * How a request whose connection went away ended: the server closes what is still in
	 * flight once graceful shutdown is over, otherwise the client left.
	 */
	HangupKind goneKind() {
		return (this.shutdown != null && this.shutdown.isClosing()) ? HangupKind.SERVER_CLOSE : HangupKind.CLIENT_CANCEL;
	}

	void record(ServerWebExchange exchange, InboundScope scope, HangupKind kind, HangupPhase phase,
			@Nullable Integer status, @Nullable String upstream, @Nullable Throwable cause) {
		Duration elapsed = Duration.ofNanos(System.nanoTime() - scope.startNanos());
		scope.recorded(kind);
		this.recorder.record(new HangupEvent(HangupSide.INBOUND, kind, phase, exchange.getRequest().getMethod().name(),
				route(exchange), upstream, elapsed, status, cause, protocol(exchange.getRequest())));
	}

	static InboundScope scope(ServerWebExchange exchange) {
		InboundScope scope = exchange.getAttribute(InboundScope.ATTRIBUTE);
		if (scope == null) {
			// The filter was replaced or disabled: time from now on.
			scope = new InboundScope();
			exchange.getAttributes().put(InboundScope.ATTRIBUTE, scope);
		}
		return scope;
	}

	/**
	 * Whether the client already has the whole response: it may close the connection before
	 * the server's processing has signalled completion (the last bytes of a relayed body are
	 * on the wire before the upstream's end-of-body reaches this thread), and that is no
	 * hang-up. Only a declared length tells; a chunked body is incomplete until its final
	 * chunk, which is written after completion.
	 */
	static boolean isResponseComplete(ServerHttpRequest request, ServerHttpResponse response, InboundScope scope) {
		if (!response.isCommitted()) {
			return false;
		}
		HttpStatusCode status = response.getStatusCode();
		if (HttpMethod.HEAD.equals(request.getMethod())
				|| (status != null && (status.value() == 204 || status.value() == 304 || status.is1xxInformational()))) {
			return true;
		}
		long length = response.getHeaders().getContentLength();
		return length >= 0 && scope.written() >= length;
	}

	static HangupPhase phase(ServerWebExchange exchange) {
		return exchange.getResponse().isCommitted() ? HangupPhase.DURING_RESPONSE : HangupPhase.BEFORE_RESPONSE;
	}

	static @Nullable String upstream(Throwable error) {
		// Bounded, like the classifier's walk: a cause chain may loop.
		int depth = 0;
		for (Throwable t = error; t != null && depth < 32; t = (t.getCause() != t) ? t.getCause() : null, depth++) {
			if (t instanceof HangupException upstream) {
				return upstream.getUpstream();
			}
		}
		return null;
	}

	/**
	 * The matched route pattern, never the raw path: patterns are few, paths are not.
	 */
	static @Nullable String route(ServerWebExchange exchange) {
		Object pattern = exchange.getAttribute(HandlerMapping.BEST_MATCHING_PATTERN_ATTRIBUTE);
		if (pattern == null) {
			pattern = exchange.getAttribute(RouterFunctions.MATCHING_PATTERN_ATTRIBUTE);
		}
		if (pattern instanceof PathPattern pathPattern) {
			return pathPattern.getPatternString();
		}
		if (pattern instanceof PathContainer || pattern == null) {
			return null;
		}
		return pattern.toString();
	}

	/**
	 * Close the inbound connection (or HTTP/2 stream) so that a committed response is seen
	 * as truncated instead of complete.
	 * @return whether the connection could be reached and closed
	 */
	static boolean abort(ServerHttpResponse response) {
		Object connection = nativeConnection(response);
		if (connection == null) {
			return false;
		}
		ReactorNetty.close(connection);
		return true;
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

		static void close(Object connection) {
			((reactor.netty.Connection) connection).channel().close();
		}

	}

}
