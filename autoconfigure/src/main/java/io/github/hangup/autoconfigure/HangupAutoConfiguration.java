package io.github.hangup.autoconfigure;

import java.util.List;

import io.github.hangup.DefaultHangupClassifier;
import io.github.hangup.HangupClassifier;
import io.github.hangup.HangupListener;
import io.github.hangup.HangupRecorder;
import io.github.hangup.client.OutboundCalls;
import io.github.hangup.LoggingHangupListener;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.logging.LoggingSystem;
import org.springframework.context.annotation.Bean;
import org.springframework.core.env.Environment;
import org.springframework.util.function.SingletonSupplier;

/**
 * Core of Hangup: properties, the classifier and the recorder that fans hang-ups out to
 * every {@link HangupListener}.
 *
 * @since 0.1.0
 */
@AutoConfiguration
@ConditionalOnBooleanProperty(name = "hangup.enabled", matchIfMissing = true)
@EnableConfigurationProperties(HangupProperties.class)
public final class HangupAutoConfiguration {

	@Bean
	@ConditionalOnMissingBean
	OutboundCalls hangupOutboundCalls() {
		return new OutboundCalls();
	}

	@Bean
	@ConditionalOnMissingBean
	HangupClassifier hangupClassifier() {
		return new DefaultHangupClassifier();
	}

	@Bean
	@ConditionalOnMissingBean
	HangupRecorder hangupRecorder(ObjectProvider<HangupListener> listeners) {
		// Resolved on first use: listeners from later auto-configurations exist by then.
		SingletonSupplier<List<HangupListener>> resolved = SingletonSupplier
			.of(() -> listeners.orderedStream().toList());
		return new HangupRecorder(resolved);
	}

	@Bean
	@ConditionalOnMissingBean
	LoggingHangupListener hangupLoggingListener(HangupProperties properties) {
		return new LoggingHangupListener(properties.getLogging().getLevel().asMap());
	}

	@Bean
	@ConditionalOnBooleanProperty(name = "hangup.logging.quiet-reactor-netty", matchIfMissing = true)
	static QuietReactorNettyLogs hangupQuietReactorNettyLogs(Environment environment,
			ObjectProvider<LoggingSystem> loggingSystem) {
		return new QuietReactorNettyLogs(environment, loggingSystem);
	}

}
