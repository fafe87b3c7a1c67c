package io.github.hangup.server;

import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.WeakHashMap;

import io.github.hangup.HangupClassifier;
import io.github.hangup.HangupException;
import io.github.hangup.HangupKind;
import io.github.hangup.HangupPhase;
import io.github.hangup.HangupProblemDetails;
import io.github.hangup.HangupRecorder;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Mono;

import org.springframework.core.Ordered;
import org.springframework.core.ResolvableType;
import org.springframework.core.codec.Hints;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.MediaType;
import org.springframework.http.ProblemDetail;
import org.springframework.http.codec.HttpMessageWriter;
import org.springframework.http.codec.ServerCodecConfigurer;
import org.springframework.http.server.reactive.ServerHttpResponse;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.server.WebExceptionHandler;

/**
 * Answers hang-ups honestly, ahead of Boot's default error handler (order -1) that would
 * answer 500:
 * <ul>
 * <li>an upstream hang-up before the response was committed gets its status (504 for a
 * timeout, 502 otherwise) and an RFC 9457 {@link ProblemDetail}, written by the
 * application's codecs as {@code application/problem+json}, that names the kind but never
 * an upstream host, address, exception message or stack trace; a request closed by a
 * shutdown gets 503 the same way;</li>
 * <li>an upstream hang-up after the response was committed aborts the inbound connection,
 * so the client sees a truncated body at once instead of a stall or a body that looks
 * complete;</li>
 * <li>a client that left is recorded and the error swallowed: nothing can be sent and it
 * is not worth an ERROR log.</li>
 * </ul>
 * Other errors pass through untouched. {@link HangupProblemDetailCustomizer}s may change
 * the problem before it is written.
 *
 * @since 0.1.0
 */
public final class HangupWebExceptionHandler implements WebExceptionHandler, Ordered {

	/**
	 * Order of this handler: before Boot's {@code DefaultErrorWebExceptionHandler} (-1).
	 */
	public static final int ORDER = -2;

	private static final Log logger = LogFactory.getLog(HangupWebExceptionHandler.class);

	private static final MediaType PROBLEM_JSON = MediaType.APPLICATION_PROBLEM_JSON;

	private static final ResolvableType PROBLEM_TYPE = ResolvableType.forClass(ProblemDetail.class);

	private final InboundHangups hangups;

	/** Status answered for each upstream kind, indexed by ordinal. */
	private final int[] statuses = new int[HangupKind.values().length];

	private final @Nullable HttpMessageWriter<ProblemDetail> writer;

	private final List<HangupProblemDetailCustomizer> customizers;

	/**
	 * The stopped shared calls already logged: one WARN line per call, however many
	 * requests it reached.
	 */
	private final Set<Throwable> warned = Collections.synchronizedSet(Collections.newSetFromMap(new WeakHashMap<>()));

	/**
	 * Create a handler that writes its problems with Spring's default codecs and does not
	 * customize them.
	 * @param classifier decides which errors are hang-ups
	 * @param recorder receives the inbound hang-ups
	 * @param statuses status answered for each upstream kind; missing kinds get
	 * {@link HangupKind#defaultStatus()}
	 * @since 0.3.0
	 */
	public HangupWebExceptionHandler(HangupClassifier classifier, HangupRecorder recorder,
			Map<HangupKind, Integer> statuses) {
		this(classifier, recorder, statuses, ServerCodecConfigurer.create().getWriters(), List.of());
	}

	/**
	 * Create a handler.
	 * @param classifier decides which errors are hang-ups
	 * @param recorder receives the inbound hang-ups
	 * @param statuses status answered for each upstream kind; missing kinds get
	 * {@link HangupKind#defaultStatus()}
	 * @param writers the application's writers, one of which writes the problems; without
	 * one for {@link ProblemDetail} as {@code application/problem+json}, answers have
	 * their status and no body
	 * @param customizers called in order on each problem before it is written
	 * @since 0.3.0
	 */
	public HangupWebExceptionHandler(HangupClassifier classifier, HangupRecorder recorder,
			Map<HangupKind, Integer> statuses, List<HttpMessageWriter<?>> writers,
			List<HangupProblemDetailCustomizer> customizers) {
		this.hangups = new InboundHangups(classifier, recorder);
		for (HangupKind kind : HangupKind.values()) {
			if (kind.isUpstream()) {
				this.statuses[kind.ordinal()] = statuses.getOrDefault(kind, kind.defaultStatus());
			}
		}
		this.writer = problemWriter(writers);
		this.customizers = List.copyOf(customizers);
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
			// Already recorded by the shutdown that stopped the request's calls; its
			// client is still there and must not take what it got for a complete answer.
			if (phase == HangupPhase.DURING_RESPONSE) {
				return InboundConnections.abort(response, ex);
			}
			return answer(exchange, kind, HttpStatus.SERVICE_UNAVAILABLE.value());
		}
		if (kind == HangupKind.CLIENT_CANCEL) {
			if (isStoppedForAnother(ex, scope, response)) {
				return sharedCallStopped(exchange, ex, phase);
			}
			this.hangups.clientGone(exchange, scope, ex);
			return Mono.empty();
		}
		boolean record = scope.claimRecording();
		if (phase == HangupPhase.DURING_RESPONSE) {
			if (record) {
				this.hangups.record(exchange, scope, kind, phase, null, InboundHangups.upstream(ex), ex);
			}
			// Claimed before closing: the close cancels the request, which must not count
			// again.
			return InboundConnections.abort(response, ex);
		}
		int status = this.statuses[kind.ordinal()];
		if (record) {
			this.hangups.record(exchange, scope, kind, phase, status, InboundHangups.upstream(ex), ex);
		}
		return answer(exchange, kind, status);
	}

	/**
	 * Whether {@code ex} is a call Hangup stopped for the client of another request: this
	 * request's client is still there, so the call was shared across requests.
	 */
	private static boolean isStoppedForAnother(Throwable ex, InboundScope scope, ServerHttpResponse response) {
		return InboundHangups.stoppedCall(ex) != null && !scope.isClientGone()
				&& !Boolean.FALSE.equals(InboundConnections.isConnectionOpen(response));
	}

	/**
	 * A call this request waited on was stopped because the client of the request that
	 * made it left. Not this request's hang-up, and no success either: an honest 503, or
	 * a visible cut once the response began, and one WARN line per stopped call.
	 */
	private Mono<Void> sharedCallStopped(ServerWebExchange exchange, Throwable ex, HangupPhase phase) {
		HangupException stopped = InboundHangups.stoppedCall(ex);
		if (stopped != null && this.warned.add(stopped)) {
			String route = InboundHangups.route(exchange);
			logger.warn("A call stopped when the client of the request that made it left was shared with another "
					+ "request still being served" + ((route != null) ? " (" + route + ")" : "")
					+ ", which gets an error: a Mono shared across requests (cache(), a Sinks replay, a call "
					+ "deduplicated by key) is stopped with the first request. Mark such calls "
					+ "HangupClientAttributes.detached(), or set hangup.client.propagation=CHAIN");
		}
		if (phase == HangupPhase.DURING_RESPONSE) {
			return InboundConnections.abort(exchange.getResponse(), ex);
		}
		return answer(exchange, HangupKind.CLIENT_CANCEL, HttpStatus.SERVICE_UNAVAILABLE.value());
	}

	private Mono<Void> answer(ServerWebExchange exchange, HangupKind kind, int status) {
		ServerHttpResponse response = exchange.getResponse();
		// Headers copied from the upstream response before its body failed must not leak
		// into the error response (a Content-Length of the upstream body, for one).
		HttpHeaders headers = response.getHeaders();
		headers.clear();
		if (kind == HangupKind.SERVER_CLOSE) {
			headers.set(HttpHeaders.CONNECTION, "close");
		}
		else if (kind == HangupKind.UPSTREAM_OVERFLOW) {
			// A full pool frees up within moments: say when a retry makes sense.
			headers.set(HttpHeaders.RETRY_AFTER, "1");
		}
		response.setStatusCode(HttpStatusCode.valueOf(status));
		headers.setCacheControl("no-store");
		if (this.writer == null) {
			headers.setContentLength(0);
			return response.setComplete();
		}
		return this.writer.write(Mono.just(problem(exchange, kind, status)), PROBLEM_TYPE, PROBLEM_JSON, response,
				Hints.from(Hints.LOG_PREFIX_HINT, exchange.getLogPrefix()));
	}

	private ProblemDetail problem(ServerWebExchange exchange, HangupKind kind, int status) {
		ProblemDetail problem = defaultProblem(kind, status);
		try {
			for (HangupProblemDetailCustomizer customizer : this.customizers) {
				customizer.customize(problem, kind, exchange);
			}
		}
		catch (RuntimeException ex) {
			// The hang-up is recorded with its status: answer it, not a 500 for a
			// customizer.
			logger.warn("Hang-up problem customizer failed, answering the default problem", ex);
			return defaultProblem(kind, status);
		}
		problem.setStatus(status);
		return problem;
	}

	private static ProblemDetail defaultProblem(HangupKind kind, int status) {
		return HangupProblemDetails.of(kind, status);
	}

	@SuppressWarnings("unchecked")
	private static @Nullable HttpMessageWriter<ProblemDetail> problemWriter(List<HttpMessageWriter<?>> writers) {
		for (HttpMessageWriter<?> writer : writers) {
			if (writer.canWrite(PROBLEM_TYPE, PROBLEM_JSON)) {
				return (HttpMessageWriter<ProblemDetail>) writer;
			}
		}
		return null;
	}

	@Override
	public int getOrder() {
		return ORDER;
	}

}
