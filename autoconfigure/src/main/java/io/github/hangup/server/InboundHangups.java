package io.github.hangup.server;

import java.time.Duration;
import java.util.Set;

import io.github.hangup.HangupClassifier;
import io.github.hangup.HangupEvent;
import io.github.hangup.HangupException;
import io.github.hangup.HangupKind;
import io.github.hangup.HangupObservations;
import io.github.hangup.HangupPhase;
import io.github.hangup.HangupRecorder;
import io.github.hangup.HangupSide;
import org.jspecify.annotations.Nullable;

import org.springframework.http.HttpMethod;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.server.PathContainer;
import org.springframework.http.server.reactive.ServerHttpRequest;
import org.springframework.http.server.reactive.ServerHttpResponse;
import org.springframework.web.reactive.HandlerMapping;
import org.springframework.web.reactive.function.server.RouterFunctions;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.util.pattern.PathPattern;

/**
 * Inbound-side hang-up bookkeeping shared by {@link HangupWebFilter} and
 * {@link HangupWebExceptionHandler}: classification, the once-only recording guard, and
 * access to the native connection.
 */
final class InboundHangups {

	private final HangupClassifier classifier;

	private final HangupRecorder recorder;

	InboundHangups(HangupClassifier classifier, HangupRecorder recorder) {
		this.classifier = classifier;
		this.recorder = recorder;
	}

	/**
	 * Classify an error that reached the inbound side.
	 */
	@Nullable HangupKind classify(ServerWebExchange exchange, Throwable error) {
		HangupKind kind = this.classifier.classify(error, HangupSide.INBOUND);
		if (kind == HangupKind.CLIENT_CANCEL && !(error instanceof HangupException)
				&& Boolean.TRUE.equals(InboundConnections.isConnectionOpen(exchange.getResponse()))) {
			// A lost connection while our own client is still connected must be an
			// upstream one that reached us unwrapped (a WebClient without the Hangup
			// filter).
			return this.classifier.classify(error, HangupSide.OUTBOUND);
		}
		return kind;
	}

	/**
	 * The client left while its request's processing is being cancelled: calls in the
	 * chain stop with the cancel, the others are stopped once it went through.
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
		ended(exchange, scope, HangupKind.CLIENT_CANCEL, cause, stopCalls);
	}

	/**
	 * The server is about to close a request still in flight: record it as the server's
	 * doing and stop its outbound calls, before the connection closes and looks like a
	 * client that left.
	 * @return whether this request's hang-up was recorded here (not already recorded)
	 */
	boolean serverClosing(ServerWebExchange exchange, InboundScope scope) {
		return ended(exchange, scope, HangupKind.SERVER_CLOSE, null, true);
	}

	/**
	 * The request ended before its response: record it once, with the kind the scope
	 * settled on first, and stop the calls that left the chain if nothing else will.
	 * @return whether this call recorded the hang-up
	 */
	private boolean ended(ServerWebExchange exchange, InboundScope scope, HangupKind kind, @Nullable Throwable cause,
			boolean stopCalls) {
		HangupPhase phase = phase(exchange);
		Set<String> stopped = scope.ended(kind);
		boolean claimed = scope.claimRecording();
		if (claimed) {
			String upstreams = stopped.isEmpty() ? null : String.join(", ", stopped);
			record(exchange, scope, scope.goneKind(), phase, null, upstreams, cause);
		}
		if (stopCalls) {
			scope.stopRemaining();
		}
		return claimed;
	}

	void record(ServerWebExchange exchange, InboundScope scope, HangupKind kind, HangupPhase phase,
			@Nullable Integer status, @Nullable String upstream, @Nullable Throwable cause) {
		Duration elapsed = Duration.ofNanos(System.nanoTime() - scope.startNanos());
		scope.recorded(kind, phase);
		String method = HangupObservations.method(exchange.getRequest().getMethod().name());
		this.recorder.record(HangupEvent.inbound(kind, phase, method, elapsed)
			.route(route(exchange))
			.upstream(upstream)
			.status(status)
			.cause(cause)
			.protocol(InboundConnections.protocol(exchange.getRequest()))
			.connection((cause instanceof HangupException hangup) ? hangup.getConnection() : null)
			.build());
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
	 * Whether the client already has the whole response: it may close the connection
	 * before the server's processing has signalled completion (the last bytes of a
	 * relayed body are on the wire before the upstream's end-of-body reaches this
	 * thread), and that is no hang-up. Only a declared length tells; a chunked body is
	 * incomplete until its final chunk, which is written after completion.
	 */
	static boolean isResponseComplete(ServerHttpRequest request, ServerHttpResponse response, InboundScope scope) {
		if (!response.isCommitted()) {
			return false;
		}
		HttpStatusCode status = response.getStatusCode();
		if (HttpMethod.HEAD.equals(request.getMethod()) || (status != null
				&& (status.value() == 204 || status.value() == 304 || status.is1xxInformational()))) {
			return true;
		}
		long length = response.getHeaders().getContentLength();
		return length >= 0 && scope.written() >= length;
	}

	static HangupPhase phase(ServerWebExchange exchange) {
		return exchange.getResponse().isCommitted() ? HangupPhase.DURING_RESPONSE : HangupPhase.BEFORE_RESPONSE;
	}

	/**
	 * The client cancel Hangup stopped an outbound call with, if {@code error} is or
	 * wraps one. A stop is the scope's decision, not a failure, so it has no cause: a
	 * call that failed because its own client left (a request body cut by the client)
	 * keeps the failure as its cause.
	 */
	static @Nullable HangupException stoppedCall(Throwable error) {
		HangupException found = hangupIn(error);
		return (found != null && found.getKind() == HangupKind.CLIENT_CANCEL && found.getCause() == null) ? found
				: null;
	}

	static @Nullable String upstream(Throwable error) {
		HangupException found = hangupIn(error);
		return (found != null) ? found.getUpstream() : null;
	}

	/** The first hang-up in an error's cause chain, if any. */
	private static @Nullable HangupException hangupIn(Throwable error) {
		// Bounded, like the classifier's walk: a cause chain may loop.
		int depth = 0;
		for (Throwable t = error; t != null && depth < 32; t = (t.getCause() != t) ? t.getCause() : null, depth++) {
			if (t instanceof HangupException hangup) {
				return hangup;
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

}
