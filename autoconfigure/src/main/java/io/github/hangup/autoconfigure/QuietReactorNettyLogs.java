package io.github.hangup.autoconfigure;

import org.springframework.beans.factory.SmartInitializingSingleton;
import org.springframework.boot.logging.LogLevel;
import org.springframework.boot.logging.LoggingSystem;
import org.springframework.core.env.Environment;

/**
 * Raises Reactor Netty's {@code HttpClientConnect} logger to ERROR: it logs a WARN line with
 * a stack trace for every upstream connection error, which repeats the one hang-up line
 * Hangup logs. Left alone when the application configures that logger itself.
 */
final class QuietReactorNettyLogs implements SmartInitializingSingleton {

	static final String LOGGER = "reactor.netty.http.client.HttpClientConnect";

	private final Environment environment;

	QuietReactorNettyLogs(Environment environment) {
		this.environment = environment;
	}

	@Override
	public void afterSingletonsInstantiated() {
		// The logger or any parent down to "reactor" configured by the application wins.
		for (String name = LOGGER; name.contains("."); name = name.substring(0, name.lastIndexOf('.'))) {
			if (this.environment.containsProperty("logging.level." + name)) {
				return;
			}
		}
		LoggingSystem.get(getClass().getClassLoader()).setLogLevel(LOGGER, LogLevel.ERROR);
	}

}
