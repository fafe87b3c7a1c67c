package io.github.hangup.sample.demo;

import org.springframework.boot.actuate.autoconfigure.endpoint.web.WebEndpointProperties;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.autoconfigure.condition.NoneNestedConditions;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Conditional;
import org.springframework.context.annotation.Configuration;

/**
 * Starts the demo upstream, and prints how to reach it, when {@code sample.upstream-url}
 * is not set.
 */
@Configuration(proxyBeanMethods = false)
@Conditional(DemoUpstreamConfiguration.NoUpstreamUrlCondition.class)
class DemoUpstreamConfiguration {

	@Bean
	DemoUpstream demoUpstream() {
		return new DemoUpstream();
	}

	@Bean
	DemoCommandsLogger demoCommandsLogger(WebEndpointProperties endpoints) {
		return new DemoCommandsLogger(endpoints.getBasePath());
	}

	static final class NoUpstreamUrlCondition extends NoneNestedConditions {

		NoUpstreamUrlCondition() {
			super(ConfigurationPhase.REGISTER_BEAN);
		}

		@ConditionalOnProperty("sample.upstream-url")
		static final class UpstreamUrlSet {

		}

	}

}
