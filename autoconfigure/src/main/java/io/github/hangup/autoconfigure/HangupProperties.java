package io.github.hangup.autoconfigure;

import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

import io.github.hangup.HangupKind;
import io.github.hangup.client.PropagationMode;
import io.github.hangup.client.StreamingResponses;
import org.jspecify.annotations.Nullable;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.DeprecatedConfigurationProperty;
import org.springframework.boot.context.properties.bind.DataObjectPropertyName;
import org.springframework.boot.logging.LogLevel;
import org.springframework.http.MediaType;
import org.springframework.validation.Errors;
import org.springframework.validation.Validator;

/**
 * Configuration properties for Hangup. Implements {@link Validator} so that Boot
 * validates the values at start-up and names the offending property when one is wrong.
 *
 * @since 0.1.0
 */
@ConfigurationProperties("hangup")
public class HangupProperties implements Validator {

	/**
	 * Whether Hangup is enabled.
	 */
	private boolean enabled = true;

	private final Client client = new Client();

	private final Server server = new Server();

	private final Metrics metrics = new Metrics();

	private final Propagation propagation = new Propagation();

	private final Events events = new Events();

	private final Observations observation = new Observations();

	private final Logging logging = new Logging();

	public boolean isEnabled() {
		return this.enabled;
	}

	public void setEnabled(boolean enabled) {
		this.enabled = enabled;
	}

	public Client getClient() {
		return this.client;
	}

	public Server getServer() {
		return this.server;
	}

	public Metrics getMetrics() {
		return this.metrics;
	}

	/**
	 * Return the old home of the propagation mode.
	 * @return the propagation settings
	 * @deprecated since 0.2.0 for removal in 1.0.0 in favor of
	 * {@link Client#getPropagation()}
	 */
	@Deprecated(since = "0.2.0", forRemoval = true)
	public Propagation getPropagation() {
		return this.propagation;
	}

	public Events getEvents() {
		return this.events;
	}

	public Observations getObservation() {
		return this.observation;
	}

	public Logging getLogging() {
		return this.logging;
	}

	/**
	 * Return the propagation mode in force: {@code hangup.client.propagation}, else the
	 * deprecated {@code hangup.propagation.mode}, else {@link PropagationMode#REQUEST}.
	 * @return the propagation mode
	 */
	@SuppressWarnings("removal")
	PropagationMode propagationMode() {
		PropagationMode mode = this.client.getPropagation();
		if (mode == null) {
			mode = this.propagation.getMode();
		}
		return (mode != null) ? mode : PropagationMode.REQUEST;
	}

	/**
	 * Longest response timeout accepted: longer ones are a mistake, or overflow the
	 * clients' timers.
	 */
	static final Duration MAX_RESPONSE_TIMEOUT = Duration.ofDays(1);

	/** Most recent hang-ups the endpoint may keep. */
	static final int MAX_EVENTS_CAPACITY = 10_000;

	@Override
	public boolean supports(Class<?> type) {
		return HangupProperties.class.isAssignableFrom(type);
	}

	@Override
	public void validate(Object target, Errors errors) {
		HangupProperties properties = (HangupProperties) target;
		Duration timeout = properties.getClient().getResponseTimeout();
		if (timeout == null) {
			// Not set: Boot's read timeout, or the default, applies.
		}
		else if (timeout.isNegative()) {
			reject(errors, "client.responseTimeout", "negative",
					"must be zero (no timeout) or positive, was " + timeout);
		}
		else if (timeout.compareTo(MAX_RESPONSE_TIMEOUT) > 0) {
			reject(errors, "client.responseTimeout", "range",
					"must be at most " + MAX_RESPONSE_TIMEOUT + " (0 turns it off), was " + timeout);
		}
		Duration streamIdle = properties.getClient().getStreamIdleTimeout();
		if (streamIdle != null && (streamIdle.isNegative() || streamIdle.compareTo(MAX_RESPONSE_TIMEOUT) > 0)) {
			reject(errors, "client.streamIdleTimeout", "range",
					"must be between 0 (no limit) and " + MAX_RESPONSE_TIMEOUT + ", was " + streamIdle);
		}
		Duration maxIdle = properties.getClient().getMaxIdleTime();
		if (maxIdle == null || maxIdle.isNegative() || maxIdle.compareTo(MAX_RESPONSE_TIMEOUT) > 0) {
			reject(errors, "client.maxIdleTime", "range",
					"must be between 0 (no limit) and " + MAX_RESPONSE_TIMEOUT + ", was " + maxIdle);
		}
		Server.Status status = properties.getServer().getStatus();
		checkStatus(errors, "server.status.upstreamTimeout", status.getUpstreamTimeout());
		checkStatus(errors, "server.status.upstreamReset", status.getUpstreamReset());
		checkStatus(errors, "server.status.upstreamUnreachable", status.getUpstreamUnreachable());
		checkStatus(errors, "server.status.upstreamProtocolError", status.getUpstreamProtocolError());
		checkStatus(errors, "server.status.upstreamOverflow", status.getUpstreamOverflow());
		int capacity = properties.getEvents().getCapacity();
		if (capacity < 0 || capacity > MAX_EVENTS_CAPACITY) {
			reject(errors, "events.capacity", "range",
					"must be between 0 (no recent events) and " + MAX_EVENTS_CAPACITY + ", was " + capacity);
		}
		Integer clientClosed = properties.getObservation().getClientClosedStatus();
		if (clientClosed != null) {
			checkStatus(errors, "observation.clientClosedStatus", clientClosed);
		}
		if (properties.getMetrics().getMaxUpstreamTags() < 1) {
			reject(errors, "metrics.maxUpstreamTags", "range",
					"must be at least 1, was " + properties.getMetrics().getMaxUpstreamTags());
		}
	}

	/**
	 * Only statuses a client reads as an error: a 1xx, 2xx or 3xx would make a failure
	 * look like an answer (101 switches protocols, 204 and 304 have no body).
	 */
	private static void checkStatus(Errors errors, String field, int status) {
		if (status < 400 || status > 599) {
			reject(errors, field, "range", "must be an HTTP error status between 400 and 599, was " + status);
		}
	}

	private static void reject(Errors errors, String field, String code, String problem) {
		// Boot reports a nested field by its Java path (client.responseTimeout) and
		// without its origin: name the property as users write it.
		String property = errors.getObjectName() + "." + DataObjectPropertyName.toDashedForm(field);
		errors.rejectValue(field, code, property + " " + problem);
	}

	/**
	 * Outbound (WebClient) settings.
	 */
	public static final class Client {

		/**
		 * Maximum time to wait for an upstream response once the request has been sent,
		 * and between two chunks of its body. Zero turns the timeout off. When not set,
		 * spring.http.clients.read-timeout applies, and 30s without it. Takes the place
		 * of spring.http.clients.read-timeout at the Reactor Netty connector Boot builds,
		 * and is the read timeout of the request factories Boot builds for RestClient and
		 * RestTemplate.
		 */
		private @Nullable Duration responseTimeout;

		/**
		 * How far a client leaving reaches: every call made for the request, only calls
		 * in the reactive chain, or none.
		 */
		private @Nullable PropagationMode propagation;

		/**
		 * How long a pooled upstream connection may sit idle before it is closed, so that
		 * it is not reused after the upstream, or a load balancer in between, dropped it;
		 * also the default of Spring Cloud Gateway's pool max idle time. Zero for no
		 * limit (an upstream's Keep-Alive timeout is still honoured).
		 */
		private Duration maxIdleTime = Duration.ofSeconds(20);

		/**
		 * Whether to send a replayable call once more, on a new connection, when it
		 * failed on a stale keep-alive connection before any response byte; Spring Cloud
		 * Gateway's proxied calls too, on routes without Gateway's Retry filter.
		 */
		private boolean retryStaleConnections = true;

		/**
		 * Maximum silence between two chunks of a streaming response body (an event
		 * stream). When not set, or zero, a stream may stay silent between chunks for as
		 * long as it likes; the response timeout still covers the wait for its response.
		 */
		private @Nullable Duration streamIdleTimeout;

		/**
		 * Media types of streaming response bodies, whose silences between chunks the
		 * response timeout does not cover.
		 */
		private List<MediaType> streamingMediaTypes = new ArrayList<>(StreamingResponses.DEFAULT_MEDIA_TYPES);

		public @Nullable Duration getStreamIdleTimeout() {
			return this.streamIdleTimeout;
		}

		public void setStreamIdleTimeout(@Nullable Duration streamIdleTimeout) {
			this.streamIdleTimeout = streamIdleTimeout;
		}

		public List<MediaType> getStreamingMediaTypes() {
			return this.streamingMediaTypes;
		}

		public void setStreamingMediaTypes(List<MediaType> streamingMediaTypes) {
			this.streamingMediaTypes = streamingMediaTypes;
		}

		public Duration getMaxIdleTime() {
			return this.maxIdleTime;
		}

		public void setMaxIdleTime(Duration maxIdleTime) {
			this.maxIdleTime = maxIdleTime;
		}

		public boolean isRetryStaleConnections() {
			return this.retryStaleConnections;
		}

		public void setRetryStaleConnections(boolean retryStaleConnections) {
			this.retryStaleConnections = retryStaleConnections;
		}

		public @Nullable Duration getResponseTimeout() {
			return this.responseTimeout;
		}

		public void setResponseTimeout(@Nullable Duration responseTimeout) {
			this.responseTimeout = responseTimeout;
		}

		public @Nullable PropagationMode getPropagation() {
			return this.propagation;
		}

		public void setPropagation(@Nullable PropagationMode propagation) {
			this.propagation = propagation;
		}

	}

	/**
	 * Inbound (WebFlux server) settings.
	 */
	public static final class Server {

		private final Status status = new Status();

		public Status getStatus() {
			return this.status;
		}

		/**
		 * Statuses answered to the inbound client for upstream hang-ups.
		 */
		public static final class Status {

			/**
			 * Status answered when the upstream did not respond in time.
			 */
			private int upstreamTimeout = 504;

			/**
			 * Status answered when the upstream closed or reset the connection.
			 */
			private int upstreamReset = 502;

			/**
			 * Status answered when no connection to the upstream could be made.
			 */
			private int upstreamUnreachable = 502;

			/**
			 * Status answered when the upstream's reply was not valid HTTP.
			 */
			private int upstreamProtocolError = 502;

			/**
			 * Status answered when no pooled connection to the upstream was free.
			 */
			private int upstreamOverflow = 503;

			public int getUpstreamTimeout() {
				return this.upstreamTimeout;
			}

			public void setUpstreamTimeout(int upstreamTimeout) {
				this.upstreamTimeout = upstreamTimeout;
			}

			public int getUpstreamReset() {
				return this.upstreamReset;
			}

			public void setUpstreamReset(int upstreamReset) {
				this.upstreamReset = upstreamReset;
			}

			public int getUpstreamOverflow() {
				return this.upstreamOverflow;
			}

			public void setUpstreamOverflow(int upstreamOverflow) {
				this.upstreamOverflow = upstreamOverflow;
			}

			public int getUpstreamProtocolError() {
				return this.upstreamProtocolError;
			}

			public void setUpstreamProtocolError(int upstreamProtocolError) {
				this.upstreamProtocolError = upstreamProtocolError;
			}

			public int getUpstreamUnreachable() {
				return this.upstreamUnreachable;
			}

			public void setUpstreamUnreachable(int upstreamUnreachable) {
				this.upstreamUnreachable = upstreamUnreachable;
			}

		}

	}

	/**
	 * Old home of the propagation mode, kept so that existing configuration still works.
	 *
	 * @deprecated since 0.2.0 for removal in 1.0.0 in favor of
	 * {@code hangup.client.propagation}
	 */
	@Deprecated(since = "0.2.0", forRemoval = true)
	public static final class Propagation {

		/**
		 * How far a client leaving reaches: every call made for the request, only calls
		 * in the reactive chain, or none.
		 */
		private @Nullable PropagationMode mode;

		@DeprecatedConfigurationProperty(replacement = "hangup.client.propagation", since = "0.2.0")
		public @Nullable PropagationMode getMode() {
			return this.mode;
		}

		public void setMode(@Nullable PropagationMode mode) {
			this.mode = mode;
		}

	}

	/**
	 * Settings of the recent events kept for the {@code hangups} endpoint.
	 */
	public static final class Events {

		/**
		 * Number of recent hang-ups kept for the hangups endpoint; 0 keeps none.
		 */
		private int capacity = 100;

		public int getCapacity() {
			return this.capacity;
		}

		public void setCapacity(int capacity) {
			this.capacity = capacity;
		}

	}

	/**
	 * Settings of the HTTP server and client observations.
	 */
	public static final class Observations {

		/**
		 * Whether to add a "hangup" key (NONE or the kind) to the http.server.requests
		 * and http.client.requests observations.
		 */
		private boolean enabled = true;

		/**
		 * Status recorded on http.server.requests for requests whose client left, such as
		 * 499, instead of UNKNOWN.
		 */
		private @Nullable Integer clientClosedStatus;

		public boolean isEnabled() {
			return this.enabled;
		}

		public void setEnabled(boolean enabled) {
			this.enabled = enabled;
		}

		public @Nullable Integer getClientClosedStatus() {
			return this.clientClosedStatus;
		}

		public void setClientClosedStatus(@Nullable Integer clientClosedStatus) {
			this.clientClosedStatus = clientClosedStatus;
		}

	}

	/**
	 * Logging settings.
	 */
	public static final class Logging {

		private final Level level = new Level();

		/**
		 * Whether to quiet Reactor Netty's own WARN line for each upstream connection
		 * error, which repeats the hang-up line, unless its level is configured
		 * explicitly.
		 */
		private boolean quietReactorNetty = true;

		/**
		 * Whether to add, the first time an outbound call is stopped because its client
		 * left, a Reactor onErrorDropped hook that logs such a call's unhandled error at
		 * DEBUG instead of ERROR (other dropped errors as Reactor does).
		 */
		private boolean quietDroppedErrors = true;

		public boolean isQuietDroppedErrors() {
			return this.quietDroppedErrors;
		}

		public void setQuietDroppedErrors(boolean quietDroppedErrors) {
			this.quietDroppedErrors = quietDroppedErrors;
		}

		public Level getLevel() {
			return this.level;
		}

		public boolean isQuietReactorNetty() {
			return this.quietReactorNetty;
		}

		public void setQuietReactorNetty(boolean quietReactorNetty) {
			this.quietReactorNetty = quietReactorNetty;
		}

		/**
		 * Level of the line logged for an inbound hang-up of each kind.
		 */
		public static final class Level {

			/**
			 * Level for clients that left.
			 */
			private LogLevel clientCancel = LogLevel.DEBUG;

			/**
			 * Level for requests closed by this server's shutdown; a summary line per
			 * shutdown is logged at INFO.
			 */
			private LogLevel serverClose = LogLevel.DEBUG;

			/**
			 * Level for upstream timeouts.
			 */
			private LogLevel upstreamTimeout = LogLevel.WARN;

			/**
			 * Level for upstream resets.
			 */
			private LogLevel upstreamReset = LogLevel.WARN;

			/**
			 * Level for unreachable upstreams.
			 */
			private LogLevel upstreamUnreachable = LogLevel.WARN;

			/**
			 * Level for upstream replies that are not valid HTTP.
			 */
			private LogLevel upstreamProtocolError = LogLevel.WARN;

			/**
			 * Level for calls that found no free pooled connection.
			 */
			private LogLevel upstreamOverflow = LogLevel.WARN;

			public LogLevel getClientCancel() {
				return this.clientCancel;
			}

			public void setClientCancel(LogLevel clientCancel) {
				this.clientCancel = clientCancel;
			}

			public LogLevel getServerClose() {
				return this.serverClose;
			}

			public void setServerClose(LogLevel serverClose) {
				this.serverClose = serverClose;
			}

			public LogLevel getUpstreamTimeout() {
				return this.upstreamTimeout;
			}

			public void setUpstreamTimeout(LogLevel upstreamTimeout) {
				this.upstreamTimeout = upstreamTimeout;
			}

			public LogLevel getUpstreamReset() {
				return this.upstreamReset;
			}

			public void setUpstreamReset(LogLevel upstreamReset) {
				this.upstreamReset = upstreamReset;
			}

			public LogLevel getUpstreamOverflow() {
				return this.upstreamOverflow;
			}

			public void setUpstreamOverflow(LogLevel upstreamOverflow) {
				this.upstreamOverflow = upstreamOverflow;
			}

			public LogLevel getUpstreamProtocolError() {
				return this.upstreamProtocolError;
			}

			public void setUpstreamProtocolError(LogLevel upstreamProtocolError) {
				this.upstreamProtocolError = upstreamProtocolError;
			}

			public LogLevel getUpstreamUnreachable() {
				return this.upstreamUnreachable;
			}

			public void setUpstreamUnreachable(LogLevel upstreamUnreachable) {
				this.upstreamUnreachable = upstreamUnreachable;
			}

			/**
			 * Return the levels per kind.
			 * @return a new map of the levels
			 */
			public Map<HangupKind, LogLevel> asMap() {
				Map<HangupKind, LogLevel> levels = new EnumMap<>(HangupKind.class);
				levels.put(HangupKind.CLIENT_CANCEL, this.clientCancel);
				levels.put(HangupKind.SERVER_CLOSE, this.serverClose);
				levels.put(HangupKind.UPSTREAM_TIMEOUT, this.upstreamTimeout);
				levels.put(HangupKind.UPSTREAM_RESET, this.upstreamReset);
				levels.put(HangupKind.UPSTREAM_UNREACHABLE, this.upstreamUnreachable);
				levels.put(HangupKind.UPSTREAM_PROTOCOL_ERROR, this.upstreamProtocolError);
				levels.put(HangupKind.UPSTREAM_OVERFLOW, this.upstreamOverflow);
				return levels;
			}

		}

	}

	/**
	 * Metrics settings.
	 */
	public static final class Metrics {

		/**
		 * Maximum number of distinct upstream tag values; further upstreams are tagged
		 * OTHER.
		 */
		private int maxUpstreamTags = 100;

		public int getMaxUpstreamTags() {
			return this.maxUpstreamTags;
		}

		public void setMaxUpstreamTags(int maxUpstreamTags) {
			this.maxUpstreamTags = maxUpstreamTags;
		}

	}

}
