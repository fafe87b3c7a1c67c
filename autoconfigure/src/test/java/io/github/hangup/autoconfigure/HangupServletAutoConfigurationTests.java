package io.github.hangup.autoconfigure;

import java.util.List;
import java.util.Map;

import io.github.hangup.servlet.HangupHandlerExceptionResolver;
import io.github.hangup.servlet.HangupServletFilter;
import io.github.hangup.servlet.HangupServletObservationFilter;
import io.github.hangup.servlet.ServletHangups;
import io.github.hangup.server.HangupWebExceptionHandler;
import io.github.hangup.server.HangupWebFilter;
import io.micrometer.observation.ObservationRegistry;
import org.apache.catalina.startup.Tomcat;
import org.junit.jupiter.api.Test;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.runner.ReactiveWebApplicationContextRunner;
import org.springframework.boot.test.context.runner.WebApplicationContextRunner;
import org.springframework.boot.tomcat.TomcatContextCustomizer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.web.servlet.DispatcherServlet;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tests for {@link HangupServletAutoConfiguration}.
 */
class HangupServletAutoConfigurationTests {

	private final WebApplicationContextRunner runner = new WebApplicationContextRunner()
		.withConfiguration(AutoConfigurations.of(HangupAutoConfiguration.class, HangupServerAutoConfiguration.class,
				HangupServletAutoConfiguration.class));

	@Test
	void filterResolverValveAndObservationFilterArePresentInAServletApplication() {
		this.runner.run((context) -> assertThat(context).hasSingleBean(ServletHangups.class)
			.hasSingleBean(HangupServletFilter.class)
			.hasSingleBean(HangupHandlerExceptionResolver.class)
			.hasSingleBean(TomcatContextCustomizer.class)
			.hasSingleBean(HangupServletObservationFilter.class));
	}

	@Test
	void reactiveComponentsAreAbsentFromAServletApplication() {
		this.runner.run((context) -> assertThat(context).doesNotHaveBean(HangupWebFilter.class)
			.doesNotHaveBean(HangupWebExceptionHandler.class));
	}

	@Test
	void servletComponentsAreAbsentFromAReactiveApplication() {
		new ReactiveWebApplicationContextRunner()
			.withConfiguration(AutoConfigurations.of(HangupAutoConfiguration.class, HangupServerAutoConfiguration.class,
					HangupServletAutoConfiguration.class))
			.run((context) -> assertThat(context).hasSingleBean(HangupWebFilter.class)
				.doesNotHaveBean(ServletHangups.class)
				.doesNotHaveBean(HangupServletFilter.class)
				.doesNotHaveBean(HangupHandlerExceptionResolver.class)
				.doesNotHaveBean(TomcatContextCustomizer.class));
	}

	@Test
	void backsOffWithoutSpringMvc() {
		this.runner.withClassLoader(new FilteredClassLoader(DispatcherServlet.class))
			.run((context) -> assertThat(context).doesNotHaveBean(ServletHangups.class)
				.doesNotHaveBean(HangupServletFilter.class)
				.doesNotHaveBean(HangupHandlerExceptionResolver.class));
	}

	@Test
	void backsOffWhenHangupIsDisabled() {
		this.runner.withPropertyValues("hangup.enabled=false")
			.run((context) -> assertThat(context).doesNotHaveBean(HangupServletFilter.class)
				.doesNotHaveBean(HangupHandlerExceptionResolver.class));
	}

	@Test
	void valveIsNotAddedWithoutTomcat() {
		this.runner.withClassLoader(new FilteredClassLoader(Tomcat.class))
			.run((context) -> assertThat(context).hasSingleBean(HangupHandlerExceptionResolver.class)
				.doesNotHaveBean(TomcatContextCustomizer.class));
	}

	@Test
	void observationFilterBacksOffWhenObservationIsDisabledOrAbsent() {
		this.runner.withPropertyValues("hangup.observation.enabled=false")
			.run((context) -> assertThat(context).hasSingleBean(HangupServletFilter.class)
				.doesNotHaveBean(HangupServletObservationFilter.class));
		this.runner.withClassLoader(new FilteredClassLoader(ObservationRegistry.class))
			.run((context) -> assertThat(context).hasSingleBean(HangupServletFilter.class)
				.doesNotHaveBean(HangupServletObservationFilter.class));
	}

	@Test
	void userResolverReplacesTheDefaultOne() {
		this.runner.withUserConfiguration(UserResolverConfiguration.class)
			.run((context) -> assertThat(context).hasSingleBean(HangupHandlerExceptionResolver.class)
				.getBean(HangupHandlerExceptionResolver.class)
				.isSameAs(context.getBean(UserResolverConfiguration.class).resolver));
	}

	@Configuration(proxyBeanMethods = false)
	static class UserResolverConfiguration {

		final HangupHandlerExceptionResolver resolver = new HangupHandlerExceptionResolver(
				new ServletHangups((error, side) -> null, io.github.hangup.HangupRecorder.of()), Map.of(), List::of,
				List.of());

		@Bean
		HangupHandlerExceptionResolver userHangupHandlerExceptionResolver() {
			return this.resolver;
		}

	}

}
