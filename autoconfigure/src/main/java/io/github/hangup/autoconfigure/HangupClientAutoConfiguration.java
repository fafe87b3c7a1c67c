package io.github.hangup.autoconfigure;

import java.time.Duration;

import io.github.hangup.HangupClassifier;
import io.github.hangup.HangupRecorder;
import io.github.hangup.client.ConnectionReuse;
import io.github.hangup.client.HangupExchangeFilterFunction;
import io.github.hangup.client.OutboundCalls;
import io.github.hangup.client.StreamingResponses;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;
import reactor.netty.http.client.HttpClient;

import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.http.client.reactive.ReactorClientHttpConnectorBuilder;
import org.springframework.boot.webclient.WebClientCustomizer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.Environment;
import org.springframework.web.reactive.function.client.WebClient;

/**
 * Installs the {@link HangupExchangeFilterFunction} on the auto-configured
 * {@code WebClient.Builder}. Its response timeout is the one timeout of WebClient calls:
 * when it stands in for Boot's read timeout, Boot's is taken off the Reactor Netty
 * connector Boot builds.
 *
 * @since 0.1.0
 */
@AutoConfiguration(after = HangupAutoConfiguration.class)
@ConditionalOnClass({ WebClient.class, WebClientCustomizer.class })
@ConditionalOnBooleanProperty(name = "hangup.enabled", matchIfMissing = true)
public final class HangupClientAutoConfiguration {

	/** Response timeout when neither Hangup's nor Boot's is set. */
	static final Duration DEFAULT_RESPONSE_TIMEOUT = Duration.ofSeconds(30);

	/** Boot's timeout for every HTTP client it builds, WebClient's connector included. */
	static final String BOOT_READ_TIMEOUT = "spring.http.clients.read-timeout";

	private static final Log logger = LogFactory.getLog(HangupClientAutoConfiguration.class);

	@Bean
	@ConditionalOnMissingBean
	HangupExchangeFilterFunction hangupExchangeFilterFunction(HangupClassifier classifier, HangupRecorder recorder,
			HangupProperties properties, Environment environment, OutboundCalls calls) {
		HangupProperties.Client client = properties.getClient();
		Duration streamIdleTimeout = client.getStreamIdleTimeout();
		return HangupExchangeFilterFunction.builder(classifier, recorder)
			.responseTimeout(responseTimeout(properties, environment))
			.propagation(properties.propagationMode())
			.connectionReuse(new ConnectionReuse(client.getMaxIdleTime(), client.isRetryStaleConnections()))
			.calls(calls)
			.streamingResponses(new StreamingResponses(client.getStreamingMediaTypes(),
					(streamIdleTimeout != null) ? streamIdleTimeout : Duration.ZERO))
			.quietDroppedErrors(properties.getLogging().isQuietDroppedErrors())
			.build();
	}

	/**
	 * One timeout a user sets, not two: Hangup's own when set, else Boot's read timeout,
	 * else 30 seconds. Whichever it is, it takes the place of Boot's read timeout, when
	 * set, at the Reactor Netty connector (see {@link ConnectorResponseTimeout}).
	 */
	static Duration responseTimeout(HangupProperties properties, Environment environment) {
		Duration own = properties.getClient().getResponseTimeout();
		Duration boot = bootReadTimeout(environment);
		if (own != null) {
			if (boot != null && !boot.equals(own)) {
				logger.warn("Both hangup.client.response-timeout (" + own + ") and " + BOOT_READ_TIMEOUT + " (" + boot
						+ ") are set: Hangup's applies to WebClient calls, and Boot's is taken off the Reactor Netty "
						+ "connector Boot builds for them");
			}
			return own;
		}
		if (boot == null || boot.isNegative()) {
			return DEFAULT_RESPONSE_TIMEOUT;
		}
		// Boot accepts any length; Hangup's timer does not outgrow its own bound.
		return (boot.compareTo(HangupProperties.MAX_RESPONSE_TIMEOUT) > 0) ? HangupProperties.MAX_RESPONSE_TIMEOUT
				: boot;
	}

	static @Nullable Duration bootReadTimeout(Environment environment) {
		return Binder.get(environment).bind(BOOT_READ_TIMEOUT, Duration.class).orElse(null);
	}

	@Bean
	WebClientCustomizer hangupWebClientCustomizer(HangupExchangeFilterFunction filter) {
		// Last in the list: the filter sits closest to the connector and sees raw errors.
		return (builder) -> builder.filters((filters) -> {
			filters.remove(filter);
			filters.add(filter);
		}).defaultRequest(HangupExchangeFilterFunction::captureCurrentScope);
	}

	/**
	 * Takes Boot's read timeout off the Reactor Netty connectors Boot builds. Boot
	 * applies the customizer to its own {@code ClientHttpConnectorBuilder} only, so that
	 * a connector of the application's own (a {@code ClientHttpConnector} or
	 * {@code ClientHttpConnectorBuilder} bean) is left as it is.
	 */
	@Configuration(proxyBeanMethods = false)
	@ConditionalOnClass({ HttpClient.class, ReactorClientHttpConnectorBuilder.class })
	static class ReactorNettyConnectorConfiguration {

		@Bean
		ConnectorResponseTimeout hangupConnectorResponseTimeout(Environment environment) {
			return new ConnectorResponseTimeout(bootReadTimeout(environment));
		}

	}

}
