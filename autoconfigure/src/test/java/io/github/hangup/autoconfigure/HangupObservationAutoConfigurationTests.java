package io.github.hangup.autoconfigure;

import io.github.hangup.client.HangupClientObservationFilter;
import io.github.hangup.client.blocking.HangupRestClientObservationFilter;
import io.github.hangup.server.HangupServerObservationFilter;
import io.micrometer.observation.ObservationRegistry;
import org.junit.jupiter.api.Test;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.test.context.runner.ReactiveWebApplicationContextRunner;
import org.springframework.web.client.RestClient;
import org.springframework.web.reactive.function.client.WebClient;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tests for {@link HangupObservationAutoConfiguration}.
 */
class HangupObservationAutoConfigurationTests {

	private final ReactiveWebApplicationContextRunner runner = new ReactiveWebApplicationContextRunner()
		.withConfiguration(
				AutoConfigurations.of(HangupAutoConfiguration.class, HangupObservationAutoConfiguration.class));

	@Test
	void serverAndClientFiltersArePresentInAReactiveWebApplication() {
		this.runner.run((context) -> assertThat(context).hasSingleBean(HangupServerObservationFilter.class)
			.hasSingleBean(HangupClientObservationFilter.class));
	}

	@Test
	void serverFilterIsAbsentOutsideAReactiveWebApplication() {
		new ApplicationContextRunner()
			.withConfiguration(
					AutoConfigurations.of(HangupAutoConfiguration.class, HangupObservationAutoConfiguration.class))
			.run((context) -> assertThat(context).doesNotHaveBean(HangupServerObservationFilter.class)
				.hasSingleBean(HangupClientObservationFilter.class));
	}

	@Test
	void filtersBackOffWhenTheObservationKeyIsTurnedOff() {
		this.runner.withPropertyValues("hangup.observation.enabled=false")
			.run((context) -> assertThat(context).doesNotHaveBean(HangupServerObservationFilter.class)
				.doesNotHaveBean(HangupClientObservationFilter.class));
	}

	@Test
	void filtersBackOffWhenHangupIsDisabled() {
		this.runner.withPropertyValues("hangup.enabled=false")
			.run((context) -> assertThat(context).doesNotHaveBean(HangupServerObservationFilter.class)
				.doesNotHaveBean(HangupClientObservationFilter.class));
	}

	@Test
	void clientFilterBacksOffWithoutWebClient() {
		this.runner.withClassLoader(new FilteredClassLoader(WebClient.class))
			.run((context) -> assertThat(context).doesNotHaveBean(HangupClientObservationFilter.class));
	}

	@Test
	void restClientFilterIsPresentBesideTheWebClientFilter() {
		this.runner.run((context) -> assertThat(context).hasSingleBean(HangupRestClientObservationFilter.class)
			.hasSingleBean(HangupClientObservationFilter.class));
	}

	@Test
	void restClientFilterIsPresentWithoutWebClient() {
		this.runner.withClassLoader(new FilteredClassLoader(WebClient.class))
			.run((context) -> assertThat(context).hasSingleBean(HangupRestClientObservationFilter.class));
	}

	@Test
	void restClientFilterBacksOffWithoutRestClient() {
		this.runner.withClassLoader(new FilteredClassLoader(RestClient.class))
			.run((context) -> assertThat(context).doesNotHaveBean(HangupRestClientObservationFilter.class));
	}

	@Test
	void restClientFilterBacksOffWhenTheObservationKeyIsTurnedOff() {
		this.runner.withPropertyValues("hangup.observation.enabled=false")
			.run((context) -> assertThat(context).doesNotHaveBean(HangupRestClientObservationFilter.class));
	}

	@Test
	void filtersBackOffWithoutMicrometerObservation() {
		this.runner.withClassLoader(new FilteredClassLoader(ObservationRegistry.class))
			.run((context) -> assertThat(context).doesNotHaveBean(HangupServerObservationFilter.class)
				.doesNotHaveBean(HangupClientObservationFilter.class));
	}

	@Test
	void userServerFilterReplacesOurs() {
		this.runner
			.withBean("custom", HangupServerObservationFilter.class, () -> new HangupServerObservationFilter(499))
			.run((context) -> assertThat(context).hasSingleBean(HangupServerObservationFilter.class).hasBean("custom"));
	}

}
