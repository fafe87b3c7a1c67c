package io.github.hangup.server;

import java.nio.charset.StandardCharsets;
import java.util.Map;

import io.github.hangup.HangupKind;
import io.github.hangup.HangupPhase;
import io.github.hangup.InboundScope;
import reactor.core.publisher.Mono;

import org.springframework.core.Ordered;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.MediaType;
import org.springframework.http.server.reactive.ServerHttpResponse;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.server.WebExceptionHandler;

/**
 * Answers hang-ups honestly, ahead of Boot's default error handler (order -1) that would
 * answer 500:
 * <ul>
 * <li>an upstream hang-up before the response was committed gets its status (504 for a
 * timeout, 502 otherwise) and an RFC 9457 {@code application/problem+json} body that names
 * the kind but never an upstream host, address, exception message or stack trace;</li>
 * <li>an upstream hang-up after the response was committed aborts the inbound connection, so
 * the client sees a truncated body at once instead of a stall or a body that looks
 * complete;</li>
 * <li>a client that left is recorded and the error swallowed: nothing can be sent and it is
 * not worth an ERROR log.</li>
 * </ul>
 * Other errors pass through untouched.
 *
 * @since 0.1.0
 */
public final class HangupWebExceptionHandler implements WebExceptionHandler, Ordered {

	/**
	 * Order of this handler: before Boot's {@code DefaultErrorWebExceptionHandler} (-1).
	 */
	public static final int ORDER = -2;

	private static final MediaType PROBLEM_JSON = MediaType.APPLICATION_PROBLEM_JSON;

	private final InboundHangups hangups;

	/** Status answered for each upstream kind, indexed by ordinal. */
	private final int[] statuses = new int[HangupKind.values().length];

	/** Problem body answered for each upstream kind, indexed by ordinal. */
	private final byte[][] bodies = new byte[HangupKind.values().length][];

	private final byte[] shuttingDown = problem(HangupKind.SERVER_CLOSE, HttpStatus.SERVICE_UNAVAILABLE.value());

	/**
	 * Create a handler.
	 * @param hangups records inbound hang-ups
	 * @param statuses status answered for each upstream kind; missing kinds get
	 * {@link HangupKind#defaultStatus()}
	 */
	public HangupWebExceptionHandler(InboundHangups hangups, Map<HangupKind, Integer> statuses) {
		this.hangups = hangups;
		for (HangupKind kind : HangupKind.values()) {
			if (kind.isUpstream()) {
				int status = statuses.getOrDefault(kind, kind.defaultStatus());
				this.statuses[kind.ordinal()] = status;
				this.bodies[kind.ordinal()] = problem(kind, status);
			}
		}
	}

	@Override
	public Mono<Void> handle(ServerWebExchange exchange, Throwable ex) {
		HangupKind kind = this.hangups.classify(exchange, ex);
		if (kind == null) {
			return Mono.error(ex);
		}
		InboundScope scope = InboundHangups.scope(exchange);
		ServerHttpResponse response = exchange.getResponse();
		HangupPhase phase = InboundHangups.phase(exchange);
		if (kind == HangupKind.SERVER_CLOSE) {
			// Already recorded by the shutdown that stopped the request's calls; its client is
			// still there and must not take what it got for a complete answer.
			if (phase == HangupPhase.DURING_RESPONSE) {
				return InboundHangups.abort(response, ex);
			}
			return answer(response, HttpStatus.SERVICE_UNAVAILABLE.value(), this.shuttingDown, true);
		}
		if (kind == HangupKind.CLIENT_CANCEL) {
			this.hangups.clientGone(exchange, scope, ex);
			return Mono.empty();
		}
		boolean record = scope.claimRecording();
		if (phase == HangupPhase.DURING_RESPONSE) {
			if (record) {
				this.hangups.record(exchange, scope, kind, phase, null, InboundHangups.upstream(ex), ex);
			}
			// Claimed before closing: the close cancels the request, which must not count again.
			return InboundHangups.abort(response, ex);
		}
		int status = this.statuses[kind.ordinal()];
		if (record) {
			this.hangups.record(exchange, scope, kind, phase, status, InboundHangups.upstream(ex), ex);
		}
		Mono<Void> answer = answer(response, status, this.bodies[kind.ordinal()], false);
		if (kind == HangupKind.UPSTREAM_OVERFLOW) {
			// A full pool frees up within moments: say when a retry makes sense.
			response.getHeaders().set(HttpHeaders.RETRY_AFTER, "1");
		}
		return answer;
	}

	private static Mono<Void> answer(ServerHttpResponse response, int status, byte[] body, boolean close) {
		// Headers copied from the upstream response before its body failed must not leak
		// into the error response (a Content-Length of the upstream body, for one).
		HttpHeaders headers = response.getHeaders();
		headers.clear();
		if (close) {
			headers.set(HttpHeaders.CONNECTION, "close");
		}
		response.setStatusCode(HttpStatusCode.valueOf(status));
		headers.setContentType(PROBLEM_JSON);
		headers.setContentLength(body.length);
		headers.setCacheControl("no-store");
		return response.writeWith(Mono.fromSupplier(() -> response.bufferFactory().wrap(body)));
	}

	private static byte[] problem(HangupKind kind, int status) {
		HttpStatus resolved = HttpStatus.resolve(status);
		String title = (resolved != null) ? resolved.getReasonPhrase() : "Upstream Error";
		String detail = switch (kind) {
			case UPSTREAM_TIMEOUT -> "The upstream service did not respond in time.";
			case UPSTREAM_RESET -> "The upstream service closed the connection before completing its response.";
			case UPSTREAM_UNREACHABLE -> "The upstream service could not be reached.";
			case UPSTREAM_PROTOCOL_ERROR -> "The upstream service sent a reply that is not valid HTTP.";
			case UPSTREAM_OVERFLOW -> "Too many requests to the upstream service are in flight; retry shortly.";
			case SERVER_CLOSE -> "The service is shutting down; retry the request.";
			case CLIENT_CANCEL -> throw new IllegalArgumentException("No answer for " + kind);
		};
		// Every value is a constant of this class or a number: nothing needs escaping.
		String json = "{\"type\":\"about:blank\",\"title\":\"" + title + "\",\"status\":" + status + ",\"detail\":\""
				+ detail + "\",\"hangup\":\"" + kind.name() + "\"}";
		return json.getBytes(StandardCharsets.UTF_8);
	}

	@Override
	public int getOrder() {
		return ORDER;
	}

}
