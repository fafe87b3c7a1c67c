package io.github.hangup.autoconfigure;

import java.time.Clock;

import io.github.hangup.actuate.HangupHistory;
import io.github.hangup.actuate.HangupsEndpoint;

import org.springframework.boot.actuate.autoconfigure.endpoint.condition.ConditionalOnAvailableEndpoint;
import org.springframework.boot.actuate.endpoint.annotation.Endpoint;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.context.annotation.Bean;

/**
 * The {@code hangups} Actuator endpoint and the history it shows. Like every endpoint, it
 * is only reachable over HTTP once exposed
 * ({@code management.endpoints.web.exposure.include}).
 *
 * @since 0.1.0
 */
@AutoConfiguration(after = HangupAutoConfiguration.class)
@ConditionalOnClass(Endpoint.class)
@ConditionalOnAvailableEndpoint(HangupsEndpoint.class)
@ConditionalOnBooleanProperty(name = "hangup.enabled", matchIfMissing = true)
public final class HangupEndpointAutoConfiguration {

	@Bean
	@ConditionalOnMissingBean
	HangupHistory hangupHistory(HangupProperties properties) {
		return new HangupHistory(properties.getEvents().getCapacity(), Clock.systemUTC());
	}

	@Bean
	@ConditionalOnMissingBean
	HangupsEndpoint hangupsEndpoint(HangupHistory history) {
		return new HangupsEndpoint(history);
	}

}
