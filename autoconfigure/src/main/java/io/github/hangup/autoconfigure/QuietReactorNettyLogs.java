package io.github.hangup.autoconfigure;

import java.util.List;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.SmartInitializingSingleton;
import org.springframework.boot.logging.LogLevel;
import org.springframework.boot.logging.LoggerConfiguration;
import org.springframework.boot.logging.LoggerConfiguration.ConfigurationScope;
import org.springframework.boot.logging.LoggingSystem;
import org.springframework.core.env.Environment;

/**
 * Raises Reactor Netty loggers that repeat what Hangup's one hang-up line says to ERROR:
 * {@code HttpClientConnect} logs a WARN line with a stack trace for every upstream
 * connection error, {@code FluxReceive} one for an error the connection raised after its
 * reader was done (a stalled body the timeout closed, a malformed tail). Each is left
 * alone when the application configures its level, or the level of a parent below the
 * root, whether in {@code logging.level.*} properties or in its logging configuration
 * file.
 */
final class QuietReactorNettyLogs implements SmartInitializingSingleton {

	static final List<String> LOGGERS = List.of("reactor.netty.http.client.HttpClientConnect",
			"reactor.netty.channel.FluxReceive");

	private final Environment environment;

	private final ObjectProvider<LoggingSystem> loggingSystem;

	QuietReactorNettyLogs(Environment environment, ObjectProvider<LoggingSystem> loggingSystem) {
		this.environment = environment;
		this.loggingSystem = loggingSystem;
	}

	@Override
	public void afterSingletonsInstantiated() {
		LoggingSystem logging = this.loggingSystem.getIfAvailable(() -> LoggingSystem.get(getClass().getClassLoader()));
		for (String logger : LOGGERS) {
			if (!isConfigured(logger, logging)) {
				logging.setLogLevel(logger, LogLevel.ERROR);
			}
		}
	}

	/**
	 * The logger or any parent down to "reactor" configured by the application wins; the
	 * root does not.
	 */
	private boolean isConfigured(String logger, LoggingSystem logging) {
		String name = logger;
		for (;;) {
			// The logging system has the levels of the configuration file, and of the
			// properties once Boot applied them; the properties are read too for a
			// context whose logging Boot did not initialize.
			if (this.environment.containsProperty("logging.level." + name) || hasLevel(logging, name)) {
				return true;
			}
			int dot = name.lastIndexOf('.');
			if (dot == -1) {
				return false;
			}
			name = name.substring(0, dot);
		}
	}

	private static boolean hasLevel(LoggingSystem logging, String name) {
		LoggerConfiguration configuration = logging.getLoggerConfiguration(name);
		// DIRECT rather than getConfiguredLevel(), which throws for a custom level.
		return configuration != null && configuration.getLevelConfiguration(ConfigurationScope.DIRECT) != null;
	}

}
