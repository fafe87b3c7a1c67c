package io.github.hangup.sample.demo;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;

import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ApplicationListener;

/**
 * Logs ready-to-paste curl commands that reach each demo endpoint through the proxy.
 */
final class DemoCommandsLogger implements ApplicationListener<ApplicationReadyEvent> {

	private static final Log logger = LogFactory.getLog(DemoCommandsLogger.class);

	private final String actuatorBasePath;

	DemoCommandsLogger(String actuatorBasePath) {
		this.actuatorBasePath = actuatorBasePath;
	}

	@Override
	public void onApplicationEvent(ApplicationReadyEvent event) {
		if (event.getApplicationContext() instanceof WebServerApplicationContext context) {
			logger.info(commands("http://localhost:" + context.getWebServer().getPort()));
		}
	}

	private String commands(String proxy) {
		String actuator = proxy + this.actuatorBasePath;
		// Quoted where a shell would otherwise read '?' or '&'.
		return String.join(System.lineSeparator(), "Try the demo upstream through the proxy:",
				"  curl -i " + proxy + "/ok", "  curl -i '" + proxy + "/slow?ms=40000'",
				"  curl -N '" + proxy + "/stream?chunks=10&interval=500'", "  curl -N '" + proxy + "/sse?interval=500'",
				"  curl -i " + proxy + "/hangup", "  curl -i " + proxy + "/reset-mid-body",
				"then see what the hang-ups did:", "  curl " + actuator + "/metrics/http.server.hangups",
				"  curl " + actuator + "/prometheus");
	}

}
