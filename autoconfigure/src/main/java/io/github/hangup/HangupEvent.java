package io.github.hangup;

import java.time.Duration;

import org.jspecify.annotations.Nullable;

/**
 * One hang-up, recorded exactly once by the side that observed it. Made with
 * {@link #inbound inbound(...)} or {@link #outbound outbound(...)}, which take the fields
 * every event has and name the optional ones: <pre class="code">
 * HangupEvent.inbound(kind, phase, "GET", elapsed).route("/items/{id}").status(502).cause(ex).build();
 * </pre>
 *
 * @param side the side that observed the hang-up
 * @param kind what happened
 * @param phase whether the response had started
 * @param method the HTTP method of the inbound request or outbound call
 * @param route the matched route pattern of the inbound request, or {@code null} when
 * none matched (always {@code null} for outbound events made outside a request)
 * @param upstream the upstream ({@code host:port} or client name), or {@code null} when
 * not known
 * @param elapsed time from the start of the request or call to the hang-up
 * @param status the HTTP status sent to the inbound client because of it, or {@code null}
 * when none was sent
 * @param cause the error behind it, or {@code null} for a cancel
 * @param protocol the inbound request's protocol ({@code HTTP/1.1}, {@code HTTP/2.0}), or
 * {@code null} when not known (always {@code null} for outbound events)
 * @param connection the pooled upstream connection the outbound call went out on (for an
 * inbound event, the call whose failure was answered), or {@code null} when not known
 * @since 0.1.0
 */
public record HangupEvent(HangupSide side, HangupKind kind, HangupPhase phase, String method, @Nullable String route,
		@Nullable String upstream, Duration elapsed, @Nullable Integer status, @Nullable Throwable cause,
		@Nullable String protocol, @Nullable UpstreamConnection connection) {

	/**
	 * Start an event observed by the server side, for a request received by this
	 * application.
	 * @param kind what happened
	 * @param phase whether the response had started
	 * @param method the HTTP method of the inbound request
	 * @param elapsed time from the start of the request to the hang-up
	 * @return a builder for the optional fields
	 * @since 0.2.0
	 */
	public static Builder inbound(HangupKind kind, HangupPhase phase, String method, Duration elapsed) {
		return new Builder(HangupSide.INBOUND, kind, phase, method, elapsed);
	}

	/**
	 * Start an event observed by the client side, for a call this application made to an
	 * upstream.
	 * @param kind what happened
	 * @param phase whether the upstream had started its response
	 * @param method the HTTP method of the outbound call
	 * @param elapsed time from the start of the call to the hang-up
	 * @return a builder for the optional fields
	 * @since 0.2.0
	 */
	public static Builder outbound(HangupKind kind, HangupPhase phase, String method, Duration elapsed) {
		return new Builder(HangupSide.OUTBOUND, kind, phase, method, elapsed);
	}

	/**
	 * Return this event without its cause, for keeping it without the exception (nor what
	 * the exception references).
	 * @return this event if it has no cause, otherwise a copy without one
	 * @since 0.2.0
	 */
	public HangupEvent withoutCause() {
		return (this.cause != null) ? new HangupEvent(this.side, this.kind, this.phase, this.method, this.route,
				this.upstream, this.elapsed, this.status, null, this.protocol, this.connection) : this;
	}

	/**
	 * Return whether the inbound request was made over HTTP/2, where a client that leaves
	 * resets its stream and keeps its connection.
	 * @return {@code true} for HTTP/2
	 * @since 0.2.0
	 */
	public boolean isHttp2() {
		return this.protocol != null && this.protocol.startsWith("HTTP/2");
	}

	/**
	 * Return whether this is an upstream reset before any response byte on a connection
	 * reused from the pool: most likely a stale keep-alive connection, closed by the
	 * upstream (or a load balancer in between) while it sat idle.
	 * @return {@code true} for a stale connection
	 * @since 0.2.0
	 */
	public boolean isStaleConnection() {
		return this.kind == HangupKind.UPSTREAM_RESET && this.phase == HangupPhase.BEFORE_RESPONSE
				&& this.connection != null && this.connection.reused();
	}

	/**
	 * Return what was wrong with the upstream's reply of an
	 * {@link HangupKind#UPSTREAM_PROTOCOL_ERROR}, such as
	 * {@code duplicate Content-Length}: one of a fixed set of phrases, never text taken
	 * from the reply.
	 * @return the reason, or {@code null} for the other kinds
	 * @since 0.3.0
	 * @see UpstreamProtocolErrorException#getReason()
	 */
	public @Nullable String protocolErrorReason() {
		return (this.kind == HangupKind.UPSTREAM_PROTOCOL_ERROR) ? UpstreamProtocolErrorException.reasonOf(this.cause)
				: null;
	}

	/**
	 * Builds a {@link HangupEvent} from its required fields, given to
	 * {@link HangupEvent#inbound inbound} or {@link HangupEvent#outbound outbound}, and
	 * the optional ones named here; those not named are {@code null}.
	 *
	 * @since 0.2.0
	 */
	public static final class Builder {

		private final HangupSide side;

		private final HangupKind kind;

		private final HangupPhase phase;

		private final String method;

		private final Duration elapsed;

		private @Nullable String route;

		private @Nullable String upstream;

		private @Nullable Integer status;

		private @Nullable Throwable cause;

		private @Nullable String protocol;

		private @Nullable UpstreamConnection connection;

		private Builder(HangupSide side, HangupKind kind, HangupPhase phase, String method, Duration elapsed) {
			this.side = side;
			this.kind = kind;
			this.phase = phase;
			this.method = method;
			this.elapsed = elapsed;
		}

		/**
		 * Set the matched route pattern of the inbound request.
		 * @param route the route pattern, or {@code null} when none matched
		 * @return this builder
		 */
		public Builder route(@Nullable String route) {
			this.route = route;
			return this;
		}

		/**
		 * Set the upstream.
		 * @param upstream the upstream ({@code host:port} or client name), or
		 * {@code null} when not known
		 * @return this builder
		 */
		public Builder upstream(@Nullable String upstream) {
			this.upstream = upstream;
			return this;
		}

		/**
		 * Set the HTTP status sent to the inbound client because of the hang-up.
		 * @param status the status, or {@code null} when none was sent
		 * @return this builder
		 */
		public Builder status(@Nullable Integer status) {
			this.status = status;
			return this;
		}

		/**
		 * Set the error behind the hang-up.
		 * @param cause the error, or {@code null} for a cancel
		 * @return this builder
		 */
		public Builder cause(@Nullable Throwable cause) {
			this.cause = cause;
			return this;
		}

		/**
		 * Set the inbound request's protocol.
		 * @param protocol {@code HTTP/1.1}, {@code HTTP/2.0}, or {@code null} when not
		 * known
		 * @return this builder
		 */
		public Builder protocol(@Nullable String protocol) {
			this.protocol = protocol;
			return this;
		}

		/**
		 * Build the event.
		 * @return the event
		 */
		/**
		 * Set the pooled upstream connection an outbound call went out on.
		 * @param connection the connection, or {@code null} when not known
		 * @return this builder
		 * @since 0.2.0
		 */
		public Builder connection(@Nullable UpstreamConnection connection) {
			this.connection = connection;
			return this;
		}

		public HangupEvent build() {
			return new HangupEvent(this.side, this.kind, this.phase, this.method, this.route, this.upstream,
					this.elapsed, this.status, this.cause, this.protocol, this.connection);
		}

	}

}
