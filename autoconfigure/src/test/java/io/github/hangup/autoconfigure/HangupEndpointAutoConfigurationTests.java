package io.github.hangup.autoconfigure;

import io.github.hangup.actuate.HangupHistory;
import io.github.hangup.actuate.HangupsEndpoint;
import org.junit.jupiter.api.Test;

import org.springframework.boot.actuate.endpoint.annotation.Endpoint;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tests for {@link HangupEndpointAutoConfiguration}.
 */
class HangupEndpointAutoConfigurationTests {

	private final ApplicationContextRunner runner = new ApplicationContextRunner()
		.withConfiguration(AutoConfigurations.of(HangupAutoConfiguration.class, HangupEndpointAutoConfiguration.class));

	@Test
	void endpointIsAbsentUntilExposed() {
		this.runner.run((context) -> assertThat(context).doesNotHaveBean(HangupsEndpoint.class)
			.doesNotHaveBean(HangupHistory.class));
	}

	@Test
	void endpointAndHistoryArePresentWhenExposed() {
		this.runner.withPropertyValues("management.endpoints.web.exposure.include=hangups")
			.run((context) -> assertThat(context).hasSingleBean(HangupsEndpoint.class)
				.hasSingleBean(HangupHistory.class));
	}

	@Test
	void capacityComesFromTheProperty() {
		this.runner.withPropertyValues("management.endpoints.web.exposure.include=hangups", "hangup.events.capacity=7")
			.run((context) -> assertThat(context.getBean(HangupHistory.class).capacity()).isEqualTo(7));
	}

	@Test
	void endpointIsAbsentWhenAccessIsNone() {
		this.runner
			.withPropertyValues("management.endpoints.web.exposure.include=hangups",
					"management.endpoint.hangups.access=NONE")
			.run((context) -> assertThat(context).doesNotHaveBean(HangupsEndpoint.class));
	}

	@Test
	void endpointBacksOffWithoutActuator() {
		this.runner.withClassLoader(new FilteredClassLoader(Endpoint.class))
			.withPropertyValues("management.endpoints.web.exposure.include=hangups")
			.run((context) -> assertThat(context).doesNotHaveBean(HangupsEndpoint.class));
	}

	@Test
	void endpointBacksOffWhenHangupIsDisabled() {
		this.runner.withPropertyValues("management.endpoints.web.exposure.include=hangups", "hangup.enabled=false")
			.run((context) -> assertThat(context).doesNotHaveBean(HangupsEndpoint.class));
	}

}
