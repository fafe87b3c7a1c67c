package io.github.hangup.support;

import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * Starts a real reactive application (Reactor Netty on an ephemeral port, full
 * auto-configuration) around one controller, as an application using the starter would
 * be.
 */
public final class TestApps {

	private TestApps() {
	}

	/**
	 * Start an application serving the given controller.
	 * @param controller the controller class, registered as a bean
	 * @param properties extra properties, as {@code key=value}
	 * @return the running context
	 */
	public static ConfigurableApplicationContext start(Class<?> controller, String... properties) {
		return new SpringApplicationBuilder(Application.class, controller).web(WebApplicationType.REACTIVE)
			.properties("server.port=0")
			.properties(properties)
			.run();
	}

	/**
	 * Return the port the application's server listens on.
	 * @param context a context started by {@link #start}
	 * @return the port
	 */
	public static int port(ConfigurableApplicationContext context) {
		return context.getEnvironment().getRequiredProperty("local.server.port", Integer.class);
	}

	@SpringBootConfiguration
	@EnableAutoConfiguration
	static class Application {

	}

}
