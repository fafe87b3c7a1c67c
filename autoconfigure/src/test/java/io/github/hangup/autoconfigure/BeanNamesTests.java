package io.github.hangup.autoconfigure;

import java.util.ArrayList;
import java.util.List;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.observation.ObservationRegistry;
import org.junit.jupiter.api.Test;

import org.springframework.beans.factory.annotation.AnnotatedBeanDefinition;
import org.springframework.beans.factory.config.BeanDefinition;
import org.springframework.beans.factory.config.ConfigurableListableBeanFactory;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.context.annotation.ImportCandidates;
import org.springframework.boot.test.context.runner.ReactiveWebApplicationContextRunner;
import org.springframework.boot.test.context.runner.WebApplicationContextRunner;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.core.type.MethodMetadata;
import org.springframework.util.ClassUtils;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every bean Hangup's auto-configuration defines is named {@code hangup…}, in a reactive
 * and in a servlet web application, so that an application can tell them from its own and
 * name the one it replaces.
 */
class BeanNamesTests {

	private static final boolean GATEWAY = ClassUtils.isPresent("org.springframework.cloud.gateway.filter.GlobalFilter",
			BeanNamesTests.class.getClassLoader());

	@Test
	void beansOfAReactiveApplicationAreNamedHangup() {
		new ReactiveWebApplicationContextRunner().withConfiguration(AutoConfigurations.of(hangupAutoConfigurations()))
			.withBean(SimpleMeterRegistry.class)
			.withBean(ObservationRegistry.class, ObservationRegistry::create)
			.run((context) -> {
				assertThat(context).hasNotFailed();
				assertNamedHangup(context, 14);
			});
	}

	@Test
	void beansOfAServletApplicationAreNamedHangup() {
		new WebApplicationContextRunner().withConfiguration(AutoConfigurations.of(hangupAutoConfigurations()))
			.withBean(SimpleMeterRegistry.class)
			.withBean(ObservationRegistry.class, ObservationRegistry::create)
			.run((context) -> {
				assertThat(context).hasNotFailed();
				assertNamedHangup(context, 14);
			});
	}

	private static void assertNamedHangup(ConfigurableApplicationContext context, int atLeast) {
		ConfigurableListableBeanFactory factory = context.getBeanFactory();
		List<String> ours = new ArrayList<>();
		for (String name : factory.getBeanDefinitionNames()) {
			if (isDefinedByHangup(factory.getBeanDefinition(name))) {
				ours.add(name);
			}
		}
		assertThat(ours).hasSizeGreaterThanOrEqualTo(atLeast).allMatch((name) -> name.startsWith("hangup"));
	}

	/** Defined by a {@code @Bean} method of one of Hangup's configuration classes. */
	private static boolean isDefinedByHangup(BeanDefinition definition) {
		MethodMetadata method = (definition instanceof AnnotatedBeanDefinition annotated)
				? annotated.getFactoryMethodMetadata() : null;
		return method != null && method.getDeclaringClassName().startsWith("io.github.hangup.");
	}

	private static Class<?>[] hangupAutoConfigurations() {
		List<Class<?>> ours = new ArrayList<>();
		for (String candidate : ImportCandidates.load(AutoConfiguration.class, BeanNamesTests.class.getClassLoader())) {
			// Gateway's auto-configuration needs Gateway, which its own tests have.
			boolean gateway = candidate.equals(HangupGatewayAutoConfiguration.class.getName());
			if (candidate.startsWith("io.github.hangup.") && (!gateway || GATEWAY)) {
				try {
					ours.add(Class.forName(candidate));
				}
				catch (ClassNotFoundException ex) {
					throw new IllegalStateException(ex);
				}
			}
		}
		return ours.toArray(Class<?>[]::new);
	}

}
