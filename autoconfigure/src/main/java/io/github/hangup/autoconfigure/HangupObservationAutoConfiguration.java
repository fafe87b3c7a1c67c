package io.github.hangup.autoconfigure;

import io.github.hangup.HangupClassifier;
import io.github.hangup.client.HangupClientObservationFilter;
import io.github.hangup.client.blocking.HangupRestClientObservationFilter;
import io.github.hangup.server.HangupServerObservationFilter;
import io.micrometer.observation.ObservationRegistry;

import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.http.client.observation.ClientRequestObservationContext;
import org.springframework.web.client.RestClient;
import org.springframework.web.reactive.function.client.WebClient;

/**
 * Adds the {@code hangup} key to the HTTP server and client observations (and so to
 * {@code http.server.requests}, {@code http.client.requests} and their spans), those of
 * {@code WebClient} and those of {@code RestClient} and {@code RestTemplate}.
 *
 * @since 0.1.0
 */
@AutoConfiguration(after = HangupAutoConfiguration.class,
		beforeName = "org.springframework.boot.micrometer.observation.autoconfigure.ObservationAutoConfiguration")
@ConditionalOnClass(ObservationRegistry.class)
@ConditionalOnBooleanProperty(name = { "hangup.enabled", "hangup.observation.enabled" }, matchIfMissing = true)
public final class HangupObservationAutoConfiguration {

	@Configuration(proxyBeanMethods = false)
	@ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.REACTIVE)
	static class ServerObservationConfiguration {

		@Bean
		@ConditionalOnMissingBean
		HangupServerObservationFilter hangupServerObservationFilter(HangupProperties properties) {
			return new HangupServerObservationFilter(properties.getObservation().getClientClosedStatus());
		}

	}

	@Configuration(proxyBeanMethods = false)
	@ConditionalOnClass({ RestClient.class, ClientRequestObservationContext.class })
	static class RestClientObservationConfiguration {

		@Bean
		@ConditionalOnMissingBean
		HangupRestClientObservationFilter hangupRestClientObservationFilter(HangupClassifier classifier) {
			return new HangupRestClientObservationFilter(classifier);
		}

	}

	@Configuration(proxyBeanMethods = false)
	@ConditionalOnClass(WebClient.class)
	static class ClientObservationConfiguration {

		@Bean
		@ConditionalOnMissingBean
		HangupClientObservationFilter hangupClientObservationFilter(HangupClassifier classifier) {
			return new HangupClientObservationFilter(classifier);
		}

	}

}
