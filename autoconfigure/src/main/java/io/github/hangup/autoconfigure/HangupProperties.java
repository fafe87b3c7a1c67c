package io.github.hangup.autoconfigure;

import java.time.Duration;

import io.github.hangup.client.PropagationMode;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DataObjectPropertyName;
import org.springframework.validation.Errors;
import org.springframework.validation.Validator;

/**
 * Configuration properties for Hangup. Implements {@link Validator} so that Boot validates
 * the values at start-up and names the offending property when one is wrong.
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

	public Propagation getPropagation() {
		return this.propagation;
	}

	@Override
	public boolean supports(Class<?> type) {
		return HangupProperties.class.isAssignableFrom(type);
	}

	@Override
	public void validate(Object target, Errors errors) {
		HangupProperties properties = (HangupProperties) target;
		Duration timeout = properties.getClient().getResponseTimeout();
		if (timeout == null || timeout.isNegative()) {
			reject(errors, "client.responseTimeout", "negative",
					"must be zero (no timeout) or positive, was " + timeout);
		}
		Server.Status status = properties.getServer().getStatus();
		checkStatus(errors, "server.status.upstreamTimeout", status.getUpstreamTimeout());
		checkStatus(errors, "server.status.upstreamReset", status.getUpstreamReset());
		checkStatus(errors, "server.status.upstreamUnreachable", status.getUpstreamUnreachable());
		if (properties.getMetrics().getMaxUpstreamTags() < 1) {
			reject(errors, "metrics.maxUpstreamTags", "range",
					"must be at least 1, was " + properties.getMetrics().getMaxUpstreamTags());
		}
	}

	private static void checkStatus(Errors errors, String field, int status) {
		if (status < 100 || status > 599) {
			reject(errors, field, "range", "must be an HTTP status between 100 and 599, was " + status);
		}
	}

	private static void reject(Errors errors, String field, String code, String problem) {
		// Boot reports a nested field by its Java path (client.responseTimeout) and without
		// its origin: name the property as users write it.
		String property = errors.getObjectName() + "." + DataObjectPropertyName.toDashedForm(field);
		errors.rejectValue(field, code, property + " " + problem);
	}

	/**
	 * Outbound (WebClient) settings.
	 */
	public static final class Client {

		/**
		 * Maximum time to wait for an upstream response, and between two chunks of its body.
		 * Zero turns the timeout off.
		 */
		private Duration responseTimeout = Duration.ofSeconds(30);

		public Duration getResponseTimeout() {
			return this.responseTimeout;
		}

		public void setResponseTimeout(Duration responseTimeout) {
			this.responseTimeout = responseTimeout;
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

			public int getUpstreamUnreachable() {
				return this.upstreamUnreachable;
			}

			public void setUpstreamUnreachable(int upstreamUnreachable) {
				this.upstreamUnreachable = upstreamUnreachable;
			}

		}

	}

	/**
	 * Cancellation settings: what happens to outbound calls when their inbound client
	 * leaves.
	 */
	public static final class Propagation {

		/**
		 * How far a client leaving reaches: every call made for the request, only calls in
		 * the reactive chain, or none.
		 */
		private PropagationMode mode = PropagationMode.REQUEST;

		public PropagationMode getMode() {
			return this.mode;
		}

		public void setMode(PropagationMode mode) {
			this.mode = mode;
		}

	}

	/**
	 * Metrics settings.
	 */
	public static final class Metrics {

		/**
		 * Maximum number of distinct upstream tag values; further upstreams are tagged OTHER.
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
