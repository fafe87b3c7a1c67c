package io.github.hangup.autoconfigure;

import io.github.hangup.HangupClassifier;
import io.github.hangup.HangupRecorder;
import io.github.hangup.client.HangupExchangeFilterFunction;

import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.webclient.WebClientCustomizer;
import org.springframework.context.annotation.Bean;
import org.springframework.web.reactive.function.client.WebClient;

/**
 * Installs the {@link HangupExchangeFilterFunction} on the auto-configured
 * {@code WebClient.Builder}.
 *
 * @since 0.1.0
 */
@AutoConfiguration(after = HangupAutoConfiguration.class)
@ConditionalOnClass({ WebClient.class, WebClientCustomizer.class })
@ConditionalOnBooleanProperty(name = "hangup.enabled", matchIfMissing = true)
public final class HangupClientAutoConfiguration {

	@Bean
	@ConditionalOnMissingBean
	HangupExchangeFilterFunction hangupExchangeFilterFunction(HangupClassifier classifier, HangupRecorder recorder,
			HangupProperties properties) {
		return new HangupExchangeFilterFunction(classifier, recorder, properties.getClient().getResponseTimeout(),
				properties.getPropagation().getMode());
	}

	@Bean
	WebClientCustomizer hangupWebClientCustomizer(HangupExchangeFilterFunction filter) {
		// Last in the list: the filter sits closest to the connector and sees raw errors.
		return (builder) -> builder.filters((filters) -> {
			filters.remove(filter);
			filters.add(filter);
		}).defaultRequest(HangupExchangeFilterFunction::captureCurrentScope);
	}

}
