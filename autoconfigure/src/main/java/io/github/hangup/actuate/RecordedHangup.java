package io.github.hangup.actuate;

import java.time.Instant;
import java.util.Locale;

import io.github.hangup.HangupEvent;
import io.github.hangup.HangupKind;
import io.github.hangup.HangupPhase;
import io.github.hangup.HangupSide;
import io.github.hangup.UpstreamConnection;
import org.jspecify.annotations.Nullable;

/**
 * One hang-up as the {@code hangups} endpoint shows it.
 *
 * @param timestamp when it was recorded (ISO-8601)
 * @param side inbound or outbound
 * @param kind what happened
 * @param phase whether the response had started
 * @param method the HTTP method
 * @param route the matched route pattern, or {@code null}
 * @param upstream the upstream ({@code host:port} or client name), or {@code null}
 * @param elapsedMillis time from the start of the request or call to the hang-up
 * @param status the status sent to the client because of it, or {@code null}
 * @param explanation a plain-language sentence saying what happened
 * @param connection {@code NEW} or {@code REUSED} for the pooled upstream connection the
 * call went out on, or {@code null} when not known
 * @param connectionIdleMillis how long a reused connection had sat idle, or {@code null}
 * when not known
 * @param connectionRequests how many calls a reused connection had carried, or
 * {@code null}
 * @since 0.1.0
 */
public record RecordedHangup(String timestamp, HangupSide side, HangupKind kind, HangupPhase phase, String method,
		@Nullable String route, @Nullable String upstream, long elapsedMillis, @Nullable Integer status,
		String explanation, @Nullable String connection, @Nullable Long connectionIdleMillis,
		@Nullable Integer connectionRequests) {

	static RecordedHangup of(HangupEvent event, Instant now, @Nullable String reason) {
		long elapsed = event.elapsed().toMillis();
		UpstreamConnection connection = event.connection();
		UpstreamConnection reused = (connection != null && connection.reused()) ? connection : null;
		return new RecordedHangup(now.toString(), event.side(), event.kind(), event.phase(), event.method(),
				event.route(), event.upstream(), elapsed, event.status(), explain(event, elapsed, reason),
				(connection != null) ? connection.tagValue() : null,
				(reused != null && !reused.idle().isZero()) ? reused.idle().toMillis() : null,
				(reused != null) ? reused.requests() : null);
	}

	static String explain(HangupEvent event, long elapsed) {
		return explain(event, elapsed, event.protocolErrorReason());
	}

	/**
	 * @param reason what was wrong with a reply that was not valid HTTP
	 */
	static String explain(HangupEvent event, long elapsed, @Nullable String reason) {
		String explanation = explainKind(event, elapsed, reason);
		UpstreamConnection connection = event.connection();
		if (event.isStaleConnection() && connection != null) {
			// Zero when not known, as for a connection of Gateway's pool.
			String idle = connection.idle().isZero()
					? "while it sat idle; set hangup.client.max-idle-time below the" + " upstream's keep-alive timeout."
					: String.format(Locale.ROOT,
							"after it sat idle %.1f s; set hangup.client.max-idle-time below that.",
							connection.idle().toMillis() / 1000.0);
			return explanation + " It went out on a keep-alive connection reused from the pool, after "
					+ connection.requests() + ((connection.requests() == 1) ? " call" : " calls")
					+ ": the upstream, or a load balancer in between, closed this connection " + idle;
		}
		return explanation;
	}

	private static String explainKind(HangupEvent event, long elapsed, @Nullable String reason) {
		String request = event.method() + " " + ((event.route() != null) ? event.route() : "(no matched route)");
		String upstream = (event.upstream() != null) ? event.upstream() : "the upstream";
		boolean before = event.phase() == HangupPhase.BEFORE_RESPONSE;
		if (event.side() == HangupSide.OUTBOUND) {
			String call = "The call " + event.method() + " to " + upstream;
			return switch (event.kind()) {
				case CLIENT_CANCEL ->
					call + " was cancelled " + elapsed + " ms in, because the client it was made for went away.";
				case SERVER_CLOSE -> call + " was stopped " + elapsed
						+ " ms in, because this application's server closed the request it was made for (a shutdown).";
				case UPSTREAM_TIMEOUT -> call + (before ? " got no response" : " stalled mid-body")
						+ " within the response timeout (" + elapsed + " ms).";
				case UPSTREAM_RESET -> call + " was closed by the upstream "
						+ (before ? "before it answered" : "in the middle of its response") + ", " + elapsed
						+ " ms in: a \"socket hang up\".";
				case UPSTREAM_UNREACHABLE ->
					call + " could not connect (refused, connect timeout or unknown host) after " + elapsed + " ms.";
				case UPSTREAM_PROTOCOL_ERROR -> call + " got a reply that is not valid HTTP (" + reason + ") "
						+ (before ? "instead of a response" : "in the middle of its response") + ", " + elapsed
						+ " ms in.";
				case UPSTREAM_OVERFLOW ->
					call + " got no pooled connection: the pool and its pending acquires were full, "
							+ "or the wait outlasted the pending-acquire timeout (" + elapsed + " ms).";
			};
		}
		return switch (event.kind()) {
			case CLIENT_CANCEL -> (event.isHttp2()
					? "The client reset its HTTP/2 stream (RST_STREAM) " + elapsed + " ms into " + request
							+ (before ? ", before any response was sent (an aborted fetch, a navigation away)"
									: ", while the response was being sent (an aborted download or stream)")
							+ "; its connection stays open for its other requests"
					: "The client closed the connection " + elapsed + " ms into " + request + (before
							? ", before any response was sent (a browser refresh or a client timeout)"
							: ", while the response was being sent (a closed tab or a client that stopped reading)"))
					+ cancelledCall(event);
			case SERVER_CLOSE -> "This application's server closed " + request + " " + elapsed
					+ " ms in, while shutting down: it was still "
					+ (before ? "waiting to answer" : "sending its response") + " when graceful shutdown ended"
					+ cancelledCall(event);
			case UPSTREAM_TIMEOUT -> before ? "The upstream " + upstream + " did not answer " + request
					+ " within the response timeout; the client got " + status(event) + " after " + elapsed + " ms."
					: "The upstream " + upstream + " stalled in the middle of its response to " + request
							+ "; the client's connection was closed after " + elapsed
							+ " ms so that it sees a truncated body.";
			case UPSTREAM_RESET -> before ? "The upstream " + upstream + " closed the connection before answering "
					+ request
					+ " (a \"socket hang up\": a crash, a restart or a stale keep-alive connection); the client got "
					+ status(event) + " after " + elapsed + " ms."
					: "The upstream " + upstream + " closed the connection in the middle of its response to " + request
							+ "; the client's connection was closed after " + elapsed
							+ " ms so that it sees a truncated body.";
			case UPSTREAM_UNREACHABLE -> "The upstream " + upstream + " could not be reached for " + request
					+ " (refused, connect timeout or unknown host); the client got " + status(event) + " after "
					+ elapsed + " ms.";
			case UPSTREAM_PROTOCOL_ERROR ->
				"The upstream " + upstream + "'s reply to " + request + " was not valid HTTP: " + reason
						+ (before ? "; the client got " + status(event) + " after " + elapsed + " ms."
								: "; the client's connection was closed after " + elapsed
										+ " ms so that it sees a truncated body.");
			case UPSTREAM_OVERFLOW -> "No pooled connection to " + upstream + " was free for " + request
					+ ": the pool and its queue of pending acquires were full, or the wait outlasted the pending-acquire "
					+ "timeout; the client got " + status(event) + " after " + elapsed
					+ " ms. Raise the pool's maximum connections or pending acquires (Reactor Netty's ConnectionProvider), "
					+ "or add upstream capacity.";
		};
	}

	private static String cancelledCall(HangupEvent event) {
		return (event.upstream() != null) ? "; the upstream call to " + event.upstream() + " was cancelled." : ".";
	}

	private static String status(HangupEvent event) {
		return (event.status() != null) ? String.valueOf(event.status()) : "no answer";
	}

}
