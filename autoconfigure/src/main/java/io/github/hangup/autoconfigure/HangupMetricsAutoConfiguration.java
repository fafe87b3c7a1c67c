package io.github.hangup.autoconfigure;

import io.github.hangup.client.OutboundCalls;
import io.github.hangup.metrics.InFlightMetrics;
import io.github.hangup.metrics.MicrometerHangupListener;
import io.github.hangup.server.HangupWebFilter;
import io.micrometer.core.instrument.MeterRegistry;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.context.annotation.Bean;

/**
 * Records hang-ups on Micrometer timers when a {@link MeterRegistry} is available.
 *
 * @since 0.1.0
 */
@AutoConfiguration(
		after = { HangupAutoConfiguration.class, HangupClientAutoConfiguration.class,
				HangupServerAutoConfiguration.class },
		afterName = {
				"org.springframework.boot.micrometer.metrics.autoconfigure.CompositeMeterRegistryAutoConfiguration",
				"org.springframework.boot.micrometer.metrics.autoconfigure.export.simple.SimpleMetricsExportAutoConfiguration",
				"org.springframework.boot.micrometer.metrics.autoconfigure.export.prometheus.PrometheusMetricsExportAutoConfiguration" })
@ConditionalOnClass(MeterRegistry.class)
@ConditionalOnBean(MeterRegistry.class)
@ConditionalOnBooleanProperty(name = "hangup.enabled", matchIfMissing = true)
public final class HangupMetricsAutoConfiguration {

	@Bean
	@ConditionalOnMissingBean
	MicrometerHangupListener hangupMicrometerListener(MeterRegistry registry, HangupProperties properties) {
		return new MicrometerHangupListener(registry, properties.getMetrics().getMaxUpstreamTags());
	}

	@Bean
	@ConditionalOnMissingBean
	InFlightMetrics hangupInFlightMetrics(ObjectProvider<OutboundCalls> calls, ObjectProvider<HangupWebFilter> server) {
		return new InFlightMetrics(calls.getIfUnique(), server.getIfUnique());
	}

}
