package io.github.hangup.autoconfigure;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import io.github.hangup.HangupClassifier;
import io.github.hangup.HangupEvent;
import io.github.hangup.HangupKind;
import io.github.hangup.HangupListener;
import io.github.hangup.HangupPhase;
import io.github.hangup.HangupRecorder;
import io.github.hangup.metrics.HangupMetrics;
import io.github.hangup.metrics.MicrometerHangupListener;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.micrometer.metrics.autoconfigure.CompositeMeterRegistryAutoConfiguration;
import org.springframework.boot.micrometer.metrics.autoconfigure.MetricsAutoConfiguration;
import org.springframework.boot.micrometer.metrics.autoconfigure.export.simple.SimpleMetricsExportAutoConfiguration;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tests for {@link HangupMetricsAutoConfiguration}.
 */
class HangupMetricsAutoConfigurationTests {

	private final ApplicationContextRunner runner = new ApplicationContextRunner()
		.withConfiguration(AutoConfigurations.of(HangupAutoConfiguration.class, HangupMetricsAutoConfiguration.class));

	@Test
	void listenerIsAbsentWithoutAMeterRegistryBean() {
		this.runner.run((context) -> assertThat(context).hasNotFailed()
			.doesNotHaveBean(MicrometerHangupListener.class)
			.hasSingleBean(HangupRecorder.class));
	}

	@Test
	void listenerIsPresentWithAMeterRegistryBean() {
		this.runner.withBean(SimpleMeterRegistry.class)
			.run((context) -> assertThat(context).hasSingleBean(MicrometerHangupListener.class));
	}

	@Test
	void listenerIsPresentWithTheRegistryAutoConfiguredByBoot() {
		this.runner
			.withConfiguration(AutoConfigurations.of(MetricsAutoConfiguration.class,
					SimpleMetricsExportAutoConfiguration.class, CompositeMeterRegistryAutoConfiguration.class))
			.run((context) -> assertThat(context).hasSingleBean(MeterRegistry.class)
				.hasSingleBean(MicrometerHangupListener.class));
	}

	@Test
	void userMicrometerListenerReplacesTheDefaultOne() {
		this.runner.withBean(SimpleMeterRegistry.class)
			.withUserConfiguration(UserMicrometerListenerConfiguration.class)
			.run((context) -> {
				assertThat(context).hasSingleBean(MicrometerHangupListener.class);
				assertThat(context.getBean(MicrometerHangupListener.class))
					.isSameAs(context.getBean("userMicrometerListener"));
			});
	}

	@Test
	void recorderCallsUserListenersAlongWithTheMicrometerOne() {
		this.runner.withBean(SimpleMeterRegistry.class)
			.withUserConfiguration(UserListenerConfiguration.class)
			.run((context) -> {
				HangupEvent event = event("example.org:80");
				context.getBean(HangupRecorder.class).record(event);
				assertThat(context.getBean(Received.class).events).containsExactly(event);
				MeterRegistry registry = context.getBean(MeterRegistry.class);
				assertThat(registry.get(HangupMetrics.CLIENT_HANGUPS)
					.tag(HangupMetrics.KIND, "UPSTREAM_RESET")
					.tag(HangupMetrics.UPSTREAM, "example.org:80")
					.timer()
					.count()).isOne();
			});
	}

	@Test
	void maxUpstreamTagsPropertyReachesTheListener() {
		this.runner.withBean(SimpleMeterRegistry.class)
			.withPropertyValues("hangup.metrics.max-upstream-tags=1")
			.run((context) -> {
				HangupRecorder recorder = context.getBean(HangupRecorder.class);
				recorder.record(event("first.example:80"));
				recorder.record(event("second.example:80"));
				MeterRegistry registry = context.getBean(MeterRegistry.class);
				assertThat(registry.get(HangupMetrics.CLIENT_HANGUPS)
					.tag(HangupMetrics.UPSTREAM, "first.example:80")
					.timer()
					.count()).isOne();
				assertThat(registry.get(HangupMetrics.CLIENT_HANGUPS)
					.tag(HangupMetrics.UPSTREAM, HangupMetrics.OTHER)
					.timer()
					.count()).isOne();
			});
	}

	@Test
	void disabledPropertyTurnsTheListenerOff() {
		this.runner.withBean(SimpleMeterRegistry.class)
			.withPropertyValues("hangup.enabled=false")
			.run((context) -> assertThat(context).hasNotFailed().doesNotHaveBean(MicrometerHangupListener.class));
	}

	@Test
	void backsOffWithoutMicrometer() {
		this.runner.withClassLoader(new FilteredClassLoader(MeterRegistry.class))
			.withBean(SimpleMeterRegistry.class)
			.run((context) -> assertThat(context).hasNotFailed()
				.doesNotHaveBean(MicrometerHangupListener.class)
				.hasSingleBean(HangupClassifier.class));
	}

	private static HangupEvent event(String upstream) {
		return HangupEvent.outbound(HangupKind.UPSTREAM_RESET, HangupPhase.BEFORE_RESPONSE, "GET", Duration.ofMillis(5))
			.upstream(upstream)
			.build();
	}

	@Configuration(proxyBeanMethods = false)
	static class UserMicrometerListenerConfiguration {

		@Bean
		MicrometerHangupListener userMicrometerListener(MeterRegistry registry) {
			return new MicrometerHangupListener(registry, 5);
		}

	}

	@Configuration(proxyBeanMethods = false)
	static class UserListenerConfiguration {

		@Bean
		Received received() {
			return new Received();
		}

		@Bean
		HangupListener userListener(Received received) {
			return received.events::add;
		}

	}

	static class Received {

		final List<HangupEvent> events = new CopyOnWriteArrayList<>();

	}

}
