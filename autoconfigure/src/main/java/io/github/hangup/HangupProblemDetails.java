package io.github.hangup;

import java.net.URI;

import org.springframework.http.HttpStatus;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.ProblemDetail;

/**
 * The RFC 9457 problem answered for a hang-up before any customizer changes it, the same
 * on every web stack: {@code type} {@code about:blank}, the status's reason phrase as its
 * {@code title}, a fixed {@code detail} and a {@code hangup} property naming the kind. It
 * never names an upstream host or address, nor says anything of the error behind it.
 *
 * @since 0.3.0
 */
public final class HangupProblemDetails {

	/** Name of the property that names the kind. */
	public static final String PROPERTY = "hangup";

	private static final URI BLANK = URI.create("about:blank");

	private HangupProblemDetails() {
	}

	/**
	 * Make the default problem for a hang-up, afresh for each answer.
	 * @param kind the kind answered
	 * @param status the status answered
	 * @return a new problem
	 */
	public static ProblemDetail of(HangupKind kind, int status) {
		String detail = switch (kind) {
			case UPSTREAM_TIMEOUT -> "The upstream service did not respond in time.";
			case UPSTREAM_RESET -> "The upstream service closed the connection before completing its response.";
			case UPSTREAM_UNREACHABLE -> "The upstream service could not be reached.";
			case UPSTREAM_PROTOCOL_ERROR -> "The upstream service sent a reply that is not valid HTTP.";
			case UPSTREAM_OVERFLOW -> "Too many requests to the upstream service are in flight; retry shortly.";
			case SERVER_CLOSE -> "The service is shutting down; retry the request.";
			// Only ever answered to another request that shared the stopped call.
			case CLIENT_CANCEL -> "An upstream call this request shared with another request was stopped when "
					+ "that request's client left; retry the request.";
		};
		ProblemDetail problem = ProblemDetail.forStatusAndDetail(HttpStatusCode.valueOf(status), detail);
		// Spring leaves the type unset, which RFC 9457 reads as about:blank: said
		// outright.
		problem.setType(BLANK);
		HttpStatus resolved = HttpStatus.resolve(status);
		problem.setTitle((resolved != null) ? resolved.getReasonPhrase() : "Upstream Error");
		problem.setProperty(PROPERTY, kind.name());
		return problem;
	}

}
