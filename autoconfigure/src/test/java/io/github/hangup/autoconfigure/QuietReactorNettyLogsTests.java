package io.github.hangup.autoconfigure;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.logging.LogLevel;
import org.springframework.boot.logging.LoggerConfiguration;
import org.springframework.boot.logging.LoggingSystem;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Reactor Netty's lines that repeat a hang-up are raised to ERROR, unless the application
 * configures those loggers itself or turns the quieting off.
 */
class QuietReactorNettyLogsTests {

	private static final String CONNECT = "reactor.netty.http.client.HttpClientConnect";

	private static final String RECEIVE = "reactor.netty.channel.FluxReceive";

	private final LoggingSystem logging = LoggingSystem.get(getClass().getClassLoader());

	private final ApplicationContextRunner runner = new ApplicationContextRunner()
		.withConfiguration(AutoConfigurations.of(HangupAutoConfiguration.class));

	@BeforeEach
	void resetLevels() {
		this.logging.setLogLevel(CONNECT, null);
		this.logging.setLogLevel(RECEIVE, null);
	}

	@Test
	void connectAndPostTerminationLinesAreQuieted() {
		this.runner.run((context) -> {
			assertThat(configured(CONNECT)).isEqualTo(LogLevel.ERROR);
			assertThat(configured(RECEIVE)).isEqualTo(LogLevel.ERROR);
		});
	}

	@Test
	void loggerConfiguredByTheApplicationIsLeftAlone() {
		this.runner.withPropertyValues("logging.level.reactor.netty.channel=DEBUG").run((context) -> {
			assertThat(configured(CONNECT)).isEqualTo(LogLevel.ERROR);
			assertThat(configured(RECEIVE)).isNull();
		});
	}

	@Test
	void quietingCanBeTurnedOff() {
		this.runner.withPropertyValues("hangup.logging.quiet-reactor-netty=false").run((context) -> {
			assertThat(configured(CONNECT)).isNull();
			assertThat(configured(RECEIVE)).isNull();
		});
	}

	private LogLevel configured(String name) {
		LoggerConfiguration configuration = this.logging.getLoggerConfiguration(name);
		return (configuration != null) ? configuration.getConfiguredLevel() : null;
	}

}
