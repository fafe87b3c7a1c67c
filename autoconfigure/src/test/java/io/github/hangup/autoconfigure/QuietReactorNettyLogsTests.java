package io.github.hangup.autoconfigure;

import java.util.HashMap;
import java.util.Map;
import java.util.Properties;

import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.util.ContextInitializer;
import ch.qos.logback.core.joran.spi.JoranException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.logging.LogLevel;
import org.springframework.boot.logging.LoggerConfiguration;
import org.springframework.boot.logging.LoggingInitializationContext;
import org.springframework.boot.logging.LoggingSystem;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.mock.env.MockEnvironment;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Reactor Netty's lines that repeat a hang-up are raised to ERROR, unless the application
 * configures those loggers itself, in properties or in its logging configuration file, or
 * turns the quieting off.
 */
class QuietReactorNettyLogsTests {

	private static final String CONNECT = "reactor.netty.http.client.HttpClientConnect";

	private static final String RECEIVE = "reactor.netty.channel.FluxReceive";

	private static final String CONFIG = "classpath:io/github/hangup/autoconfigure/quiet-reactor-netty-logback.xml";

	private final LoggingSystem logging = LoggingSystem.get(getClass().getClassLoader());

	private final ApplicationContextRunner runner = new ApplicationContextRunner()
		.withConfiguration(AutoConfigurations.of(HangupAutoConfiguration.class));

	/**
	 * The levels of the two loggers before the test: other tests' contexts set them too.
	 */
	private final Map<String, LogLevel> levelsBefore = new HashMap<>();

	private Properties systemPropertiesBefore;

	private boolean loggingInitialized;

	@BeforeEach
	void clearLevels() {
		for (String name : QuietReactorNettyLogs.LOGGERS) {
			this.levelsBefore.put(name, configured(name));
			this.logging.setLogLevel(name, null);
		}
	}

	@AfterEach
	void restoreLogging() throws JoranException {
		if (this.loggingInitialized) {
			// Back to the configuration Logback found by itself when the test JVM
			// started.
			this.logging.cleanUp();
			LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
			context.reset();
			new ContextInitializer(context).autoConfig();
			System.setProperties(this.systemPropertiesBefore);
		}
		this.levelsBefore.forEach(this.logging::setLogLevel);
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
	void reactorNettyAtDebugInTheLoggingConfigurationFileStaysAtDebug() {
		initializeLogging("reactor.netty", "DEBUG");
		this.runner.run((context) -> {
			assertThat(configured("reactor.netty")).isEqualTo(LogLevel.DEBUG);
			assertThat(configured(CONNECT)).isNull();
			assertThat(configured(RECEIVE)).isNull();
			assertThat(effective(CONNECT)).isEqualTo(LogLevel.DEBUG);
			assertThat(effective(RECEIVE)).isEqualTo(LogLevel.DEBUG);
		});
	}

	@Test
	void topLevelParentConfiguredInTheLoggingConfigurationFileIsLeftAlone() {
		initializeLogging("reactor", "INFO");
		this.runner.run((context) -> {
			assertThat(configured(CONNECT)).isNull();
			assertThat(configured(RECEIVE)).isNull();
			assertThat(effective(CONNECT)).isEqualTo(LogLevel.INFO);
		});
	}

	@Test
	void loggerConfiguredInTheLoggingConfigurationFileKeepsItsLevelWhileTheOtherIsQuieted() {
		initializeLogging(CONNECT, "WARN");
		this.runner.run((context) -> {
			assertThat(configured(CONNECT)).isEqualTo(LogLevel.WARN);
			assertThat(configured(RECEIVE)).isEqualTo(LogLevel.ERROR);
		});
	}

	@Test
	void rootAndSiblingLevelsInTheLoggingConfigurationFileDoNotCountAsConfiguringTheLoggers() {
		initializeLogging("reactor.core", "DEBUG");
		this.runner.run((context) -> {
			assertThat(configured(CONNECT)).isEqualTo(LogLevel.ERROR);
			assertThat(configured(RECEIVE)).isEqualTo(LogLevel.ERROR);
		});
	}

	@Test
	void quietingCanBeTurnedOff() {
		this.runner.withPropertyValues("hangup.logging.quiet-reactor-netty=false").run((context) -> {
			assertThat(configured(CONNECT)).isNull();
			assertThat(configured(RECEIVE)).isNull();
		});
	}

	/**
	 * Initialize Boot's logging system as at start-up, from a file that sets
	 * {@code logger} to {@code level}.
	 */
	private void initializeLogging(String logger, String level) {
		this.systemPropertiesBefore = (Properties) System.getProperties().clone();
		this.loggingInitialized = true;
		MockEnvironment environment = new MockEnvironment().withProperty("test.logger.name", logger)
			.withProperty("test.logger.level", level);
		this.logging.initialize(new LoggingInitializationContext(environment), CONFIG, null);
		assertThat(configured(logger)).isEqualTo(LogLevel.valueOf(level));
	}

	private LogLevel configured(String name) {
		LoggerConfiguration configuration = this.logging.getLoggerConfiguration(name);
		return (configuration != null) ? configuration.getConfiguredLevel() : null;
	}

	private LogLevel effective(String name) {
		return this.logging.getLoggerConfiguration(name).getEffectiveLevel();
	}

}
