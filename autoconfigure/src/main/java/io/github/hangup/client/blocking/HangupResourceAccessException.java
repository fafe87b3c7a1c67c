package io.github.hangup.client.blocking;

import io.github.hangup.HangupException;

import org.springframework.http.HttpRequest;
import org.springframework.web.client.ResourceAccessException;

/**
 * A call of a {@code RestClient} or {@code RestTemplate} hung up before its response: the
 * {@code ResourceAccessException} Spring throws for a failed call, as code written for
 * the client without Hangup expects, whose cause is the typed {@link HangupException}
 * ({@code UpstreamTimeoutException}, {@code UpstreamResetException}, ...):
 * <pre class="code">
 * catch (ResourceAccessException ex) {
 *     if (ex.getCause() instanceof UpstreamTimeoutException) { ... }
 * }
 * </pre>
 *
 * @since 0.3.0
 */
public final class HangupResourceAccessException extends ResourceAccessException {

	private static final long serialVersionUID = 1L;

	private final HangupException hangup;

	HangupResourceAccessException(HttpRequest request, HangupException hangup) {
		// Worded as Spring words its own, so that logs read the same with and without
		// Hangup.
		super("I/O error on " + request.getMethod().name() + " request for \"" + request.getURI() + "\": "
				+ hangup.getMessage());
		initCause(hangup);
		this.hangup = hangup;
	}

	/**
	 * Return the hang-up: what happened, when, to which upstream.
	 * @return the hang-up, also this exception's cause
	 */
	public HangupException getHangup() {
		return this.hangup;
	}

}
