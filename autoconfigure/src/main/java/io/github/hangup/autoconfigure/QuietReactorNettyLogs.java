package io.github.hangup.autoconfigure;

import java.util.List;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.SmartInitializingSingleton;
import org.springframework.boot.logging.LogLevel;
import org.springframework.boot.logging.LoggingSystem;
import org.springframework.core.env.Environment;

/**
 * Raises Reactor Netty loggers that repeat what Hangup's one hang-up line says to ERROR:
 * {@code HttpClientConnect} logs a WARN line with a stack trace for every upstream connection
 * error, {@code FluxReceive} one for an error the connection raised after its reader was done
 * (a stalled body the timeout closed, a malformed tail). Each is left alone when the
 * application configures it, or a parent of it, itself.
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
			if (!isConfigured(logger)) {
				logging.setLogLevel(logger, LogLevel.ERROR);
			}
		}
	}

	/** The logger or any parent down to "reactor" configured by the application wins. */
	private boolean isConfigured(String logger) {
		for (String name = logger; name.contains("."); name = name.substring(0, name.lastIndexOf('.'))) {
			if (this.environment.containsProperty("logging.level." + name)) {
				return true;
			}
		}
		return false;
	}

}
