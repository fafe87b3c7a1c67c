package io.github.hangup.servlet;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

import io.github.hangup.HangupKind;
import io.github.hangup.HangupPhase;
import io.github.hangup.HangupProblemDetails;
import io.github.hangup.server.InboundScope;
import io.github.hangup.server.InboundScopes;
import jakarta.servlet.DispatcherType;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.ServletResponseWrapper;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

import org.springframework.core.Ordered;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpOutputMessage;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ProblemDetail;
import org.springframework.http.converter.HttpMessageConverter;
import org.springframework.web.servlet.HandlerExceptionResolver;
import org.springframework.web.servlet.ModelAndView;

/**
 * Answers hang-ups honestly through Spring MVC's own exception handling, after the
 * application's {@code @ExceptionHandler} methods and before the error page that would
 * answer 500:
 * <ul>
 * <li>an upstream hang-up (a {@link io.github.hangup.HangupException}, or the I/O error
 * of a client Hangup does not see, wrapped by Spring in a
 * {@code ResourceAccessException}) before the response was committed gets its status (504
 * for a timeout, 502 or 503 otherwise) and the RFC 9457 {@link ProblemDetail} of
 * {@link HangupProblemDetails}, written by the application's message converters as
 * {@code application/problem+json};</li>
 * <li>an upstream hang-up after the response was committed aborts the inbound connection,
 * so the client sees a truncated body at once instead of a body that looks complete;</li>
 * <li>a client that left is recorded and the error swallowed: nothing can be sent and it
 * is not worth an ERROR log;</li>
 * <li>a request whose calls a shutdown stopped (recorded by then as
 * {@link HangupKind#SERVER_CLOSE}) is answered {@code 503} with
 * {@code Connection: close}, or cut once its response is committed.</li>
 * </ul>
 * Other errors pass through untouched. Each hang-up is counted once on the request.
 *
 * @since 0.3.0
 */
public final class HangupHandlerExceptionResolver implements HandlerExceptionResolver, Ordered {

	/**
	 * Order of this resolver: right after MVC's own resolvers (order 0), which run the
	 * application's {@code @ExceptionHandler} methods first.
	 */
	public static final int ORDER = 1;

	private static final Log logger = LogFactory.getLog(HangupHandlerExceptionResolver.class);

	private static final MediaType PROBLEM_JSON = MediaType.APPLICATION_PROBLEM_JSON;

	private final ServletHangups hangups;

	/** Status answered for each upstream kind, indexed by ordinal. */
	private final int[] statuses = new int[HangupKind.values().length];

	private final Supplier<List<HttpMessageConverter<?>>> converters;

	private final List<HangupServletProblemDetailCustomizer> customizers;

	private volatile @Nullable Writer writer;

	/**
	 * Create a resolver.
	 * @param hangups records inbound hang-ups
	 * @param statuses status answered for each upstream kind; missing kinds get
	 * {@link HangupKind#defaultStatus()}
	 * @param converters supplies the application's message converters, one of which
	 * writes the problems; called once, on the first answer. Without one for
	 * {@link ProblemDetail} as {@code application/problem+json}, answers have their
	 * status and no body
	 * @param customizers called in order on each problem before it is written
	 */
	public HangupHandlerExceptionResolver(ServletHangups hangups, Map<HangupKind, Integer> statuses,
			Supplier<List<HttpMessageConverter<?>>> converters,
			List<HangupServletProblemDetailCustomizer> customizers) {
		this.hangups = hangups;
		for (HangupKind kind : HangupKind.values()) {
			if (kind.isUpstream()) {
				this.statuses[kind.ordinal()] = statuses.getOrDefault(kind, kind.defaultStatus());
			}
		}
		this.converters = converters;
		this.customizers = List.copyOf(customizers);
	}

	@Override
	public @Nullable ModelAndView resolveException(HttpServletRequest request, HttpServletResponse response,
			@Nullable Object handler, Exception ex) {
		HangupKind kind = this.hangups.classify(ex);
		if (kind == null) {
			return null;
		}
		if (kind == HangupKind.SERVER_CLOSE) {
			// Recorded already by the shutdown that stopped the request's calls; its
			// client is still there and must not take what it got for a complete answer.
			if (ServletHangups.phase(request, response) == HangupPhase.DURING_RESPONSE) {
				return abort(request, response, ex);
			}
			return answered(request, response, kind, HttpStatus.SERVICE_UNAVAILABLE.value());
		}
		InboundScope scope = ServletHangups.scope(request);
		if (kind == HangupKind.CLIENT_CANCEL) {
			this.hangups.clientGone(request, response, scope, ex);
			ServletHangups.closeConnection(request, ex);
			return new ModelAndView();
		}
		boolean record = InboundScopes.claimRecording(scope);
		HangupPhase phase = ServletHangups.phase(request, response);
		String upstream = ServletHangups.upstream(ex);
		if (phase == HangupPhase.DURING_RESPONSE) {
			if (record) {
				this.hangups.record(request, scope, kind, phase, null, upstream, ex);
			}
			return abort(request, response, ex);
		}
		int status = this.statuses[kind.ordinal()];
		if (record) {
			this.hangups.record(request, scope, kind, phase, status, upstream, ex);
		}
		return answered(request, response, kind, status);
	}

	private ModelAndView answered(HttpServletRequest request, HttpServletResponse response, HangupKind kind,
			int status) {
		try {
			answer(request, response, kind, status);
		}
		catch (IOException writeFailed) {
			// The client left while being answered: the hang-up recorded is what was
			// counted.
			logger.debug("Could not write the answer to a hang-up", writeFailed);
		}
		return new ModelAndView();
	}

	/**
	 * Cut the committed response: through the container's integration when there is one,
	 * otherwise by leaving the error to the container, which aborts a committed response
	 * that failed.
	 */
	private static @Nullable ModelAndView abort(HttpServletRequest request, HttpServletResponse response,
			Exception ex) {
		Object abort = request.getAttribute(ServletHangups.ABORT_ATTRIBUTE);
		if (abort == null && request.getDispatcherType() == DispatcherType.REQUEST && !request.isAsyncStarted()) {
			abort = request.getAttribute(ServletHangups.SYNC_ABORT_ATTRIBUTE);
		}
		if (abort instanceof ServletHangups.InboundAbort inbound) {
			// What was written goes out before the cut. The container's own response:
			// a wrapper's failed flush would be taken for the client leaving.
			ServletResponse target = response;
			while (target instanceof ServletResponseWrapper wrapper) {
				target = wrapper.getResponse();
			}
			try {
				target.flushBuffer();
			}
			catch (IOException flushFailed) {
				// The client is gone already: closing is all that is left.
			}
			inbound.abort(ex);
			return new ModelAndView();
		}
		return null;
	}

	private void answer(HttpServletRequest request, HttpServletResponse response, HangupKind kind, int status)
			throws IOException {
		// Headers and buffered bytes of a response begun before the failure must not leak
		// into the answer (a Content-Length of the upstream body, for one).
		response.reset();
		response.setStatus(status);
		if (kind == HangupKind.SERVER_CLOSE) {
			// The server is going away: the client's next request goes to a new
			// connection.
			response.setHeader(HttpHeaders.CONNECTION, "close");
		}
		else if (kind == HangupKind.UPSTREAM_OVERFLOW) {
			// A full pool frees up within moments: say when a retry makes sense.
			response.setHeader(HttpHeaders.RETRY_AFTER, "1");
		}
		response.setHeader(HttpHeaders.CACHE_CONTROL, "no-store");
		HttpMessageConverter<ProblemDetail> converter = writer().converter();
		if (converter == null) {
			response.setContentLength(0);
			response.flushBuffer();
			return;
		}
		// Written whole, with its length, as on WebFlux: the problem is small, and a
		// client reads it without chunked decoding.
		BufferedMessage output = new BufferedMessage();
		converter.write(problem(request, kind, status), PROBLEM_JSON, output);
		MediaType type = output.getHeaders().getContentType();
		response.setContentType(((type != null) ? type : PROBLEM_JSON).toString());
		response.setContentLength(output.body.size());
		output.body.writeTo(response.getOutputStream());
		response.flushBuffer();
	}

	private ProblemDetail problem(HttpServletRequest request, HangupKind kind, int status) {
		ProblemDetail problem = HangupProblemDetails.of(kind, status);
		try {
			for (HangupServletProblemDetailCustomizer customizer : this.customizers) {
				customizer.customize(problem, kind, request);
			}
		}
		catch (RuntimeException ex) {
			// The hang-up is recorded with its status: answer it, not a 500 for a
			// customizer.
			logger.warn("Hang-up problem customizer failed, answering the default problem", ex);
			return HangupProblemDetails.of(kind, status);
		}
		problem.setStatus(status);
		return problem;
	}

	private Writer writer() {
		Writer writer = this.writer;
		if (writer == null) {
			writer = new Writer(problemConverter(this.converters.get()));
			this.writer = writer;
		}
		return writer;
	}

	@SuppressWarnings("unchecked")
	private static @Nullable HttpMessageConverter<ProblemDetail> problemConverter(
			List<HttpMessageConverter<?>> converters) {
		for (HttpMessageConverter<?> converter : converters) {
			if (converter.canWrite(ProblemDetail.class, PROBLEM_JSON)) {
				return (HttpMessageConverter<ProblemDetail>) converter;
			}
		}
		return null;
	}

	@Override
	public int getOrder() {
		return ORDER;
	}

	/**
	 * The converter found, or {@code null} when none writes problems: looked for once.
	 */
	private record Writer(@Nullable HttpMessageConverter<ProblemDetail> converter) {
	}

	/** A message written to memory, to learn its length before sending it. */
	private static final class BufferedMessage implements HttpOutputMessage {

		private final HttpHeaders headers = new HttpHeaders();

		private final ByteArrayOutputStream body = new ByteArrayOutputStream(256);

		@Override
		public OutputStream getBody() {
			return this.body;
		}

		@Override
		public HttpHeaders getHeaders() {
			return this.headers;
		}

	}

}
