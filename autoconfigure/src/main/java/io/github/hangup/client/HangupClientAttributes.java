package io.github.hangup.client;

import java.time.Duration;
import java.util.Map;
import java.util.function.Consumer;

import org.springframework.util.Assert;

/**
 * Request attributes understood by the Hangup WebClient filter, for example
 * {@code webClient.get().uri(uri).attributes(HangupClientAttributes.responseTimeout(Duration.ofMinutes(5)))}.
 *
 * @since 0.1.0
 */
public final class HangupClientAttributes {

	/**
	 * Attribute holding a {@link Duration} that replaces
	 * {@code hangup.client.response-timeout} for one request; {@link Duration#ZERO} turns
	 * the timeout off (for long-lived streams).
	 */
	public static final String RESPONSE_TIMEOUT = HangupClientAttributes.class.getName() + ".responseTimeout";

	/**
	 * Attribute holding a {@link String} used as the {@code upstream} tag instead of
	 * {@code host:port}; use it to give a logical name to an upstream.
	 */
	public static final String CLIENT_NAME = HangupClientAttributes.class.getName() + ".clientName";

	/**
	 * Attribute holding {@link Boolean#TRUE} for a call that must survive its inbound
	 * client leaving, such as an audit write started from a request and not returned in
	 * its chain.
	 */
	public static final String DETACHED = HangupClientAttributes.class.getName() + ".detached";

	private HangupClientAttributes() {
	}

	/**
	 * Set the response timeout of one request.
	 * @param timeout the maximum time to wait for the response and between two chunks of
	 * its body; {@link Duration#ZERO} for none
	 * @return an attributes consumer for {@code WebClient.RequestHeadersSpec#attributes}
	 */
	public static Consumer<Map<String, Object>> responseTimeout(Duration timeout) {
		Assert.isTrue(!timeout.isNegative(), "Response timeout must not be negative");
		return (attributes) -> attributes.put(RESPONSE_TIMEOUT, timeout);
	}

	/**
	 * Let one call run to its end when the inbound client it was made for leaves. Only
	 * calls outside the reactive chain can survive: a call in the chain is cancelled by
	 * Reactor itself.
	 * @return an attributes consumer for {@code WebClient.RequestHeadersSpec#attributes}
	 */
	public static Consumer<Map<String, Object>> detached() {
		return (attributes) -> attributes.put(DETACHED, Boolean.TRUE);
	}

	/**
	 * Name the upstream of one request for metrics and logs.
	 * @param name a name from a small, fixed set (it becomes a tag value)
	 * @return an attributes consumer for {@code WebClient.RequestHeadersSpec#attributes}
	 */
	public static Consumer<Map<String, Object>> clientName(String name) {
		Assert.hasText(name, "Client name must not be empty");
		return (attributes) -> attributes.put(CLIENT_NAME, name);
	}

}
