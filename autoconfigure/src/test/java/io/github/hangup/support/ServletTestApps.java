package io.github.hangup.support;

import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * Starts a real Spring MVC application (embedded Tomcat on an ephemeral port, full
 * auto-configuration) around one controller, as an application using the starter would
 * be.
 */
public final class ServletTestApps {

	private ServletTestApps() {
	}

	/**
	 * Start an application serving the given controller.
	 * @param controller the controller class, registered as a bean
	 * @param properties extra properties, as {@code key=value}
	 * @return the running context
	 */
	public static ConfigurableApplicationContext start(Class<?> controller, String... properties) {
		return new SpringApplicationBuilder(Application.class, controller).web(WebApplicationType.SERVLET)
			.properties("server.port=0", "server.address=127.0.0.1")
			.properties(properties)
			.run();
	}

	@SpringBootConfiguration
	@EnableAutoConfiguration
	static class Application {

	}

}
