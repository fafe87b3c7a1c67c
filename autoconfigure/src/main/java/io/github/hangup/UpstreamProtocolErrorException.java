package io.github.hangup;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import org.jspecify.annotations.Nullable;

/**
 * The upstream's reply was not valid HTTP ({@link HangupKind#UPSTREAM_PROTOCOL_ERROR}).
 * {@link #getReason()} says what was wrong with it, from a small fixed set of reasons.
 *
 * @since 0.2.0
 */
public final class UpstreamProtocolErrorException extends UpstreamHangupException {

	private static final long serialVersionUID = 1L;

	/**
	 * Phrases of the decoder's messages and the reason each means, most specific first.
	 */
	private static final String[][] MESSAGE_RULES = { { "multiple content-length", "duplicate Content-Length" },
			{ "content-length", "invalid Content-Length" }, { "chunk size", "invalid chunk size" },
			{ "invalid version format", "not an HTTP reply" },
			{ "not a final response", "an informational (1xx) status as the response" },
			{ "status code", "invalid status code" }, { "upstream status", "invalid status code" },
			{ "header", "invalid header" }, { "for input string", "invalid status code" } };

	private final String reason;

	UpstreamProtocolErrorException(HangupPhase phase, String method, String upstream, @Nullable Throwable cause) {
		super(HangupKind.UPSTREAM_PROTOCOL_ERROR, phase, method, upstream, cause);
		this.reason = reasonOf(cause);
	}

	/**
	 * Return what was wrong with the reply, such as {@code duplicate Content-Length}: one
	 * of a fixed set of phrases, never text taken from the reply.
	 * @return the reason
	 */
	public String getReason() {
		return this.reason;
	}

	/**
	 * Return what was wrong with a reply, from the error its decoding raised: by type
	 * first, by the decoder's message last, always one of a fixed set of phrases.
	 * @param error the decoding error, or an error that has it as a cause
	 */
	static String reasonOf(@Nullable Throwable error) {
		List<Throwable> chain = new ArrayList<>();
		for (Throwable t = error; t != null && chain.size() < 16; t = (t.getCause() != t) ? t.getCause() : null) {
			if (t instanceof UpstreamProtocolErrorException protocolError) {
				return protocolError.reason;
			}
			chain.add(t);
		}
		for (Throwable t : chain) {
			String reason = byType(t);
			if (reason != null) {
				return reason;
			}
		}
		// The most specific phrase wins, wherever in the chain it is (wrappers repeat the
		// decoder's message, a number parser below it has a vaguer one).
		for (String[] rule : MESSAGE_RULES) {
			for (Throwable t : chain) {
				String message = t.getMessage();
				if (message != null && message.toLowerCase(Locale.ROOT).contains(rule[0])) {
					return rule[1];
				}
			}
		}
		return "malformed reply";
	}

	private static @Nullable String byType(Throwable t) {
		switch (t.getClass().getSimpleName()) {
			case "PrematureChannelClosureException":
				return "closed in the middle of its header";
			case "TooLongHttpHeaderException":
				return "header too large";
			case "TooLongHttpLineException":
				return "status line too long";
			case "InvalidLineSeparatorException":
				return "lines not ended by CRLF (not HTTP/1.1, or HTTP/2 frames)";
			case "ContentLengthNotAllowedException":
				return "Content-Length together with Transfer-Encoding";
			default:
				return null;
		}
	}

}
