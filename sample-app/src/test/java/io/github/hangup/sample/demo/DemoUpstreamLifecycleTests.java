package io.github.hangup.sample.demo;

import java.io.IOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.Socket;

import io.github.hangup.sample.SampleApplication;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * When the demo upstream runs, what it prints, and that it goes away with the
 * application.
 */
@ExtendWith(OutputCaptureExtension.class)
class DemoUpstreamLifecycleTests {

	@Test
	void startUpPrintsCurlCommandsThatGoThroughTheProxy(CapturedOutput output) {
		try (ConfigurableApplicationContext context = start()) {
			String proxy = "http://localhost:" + ((WebServerApplicationContext) context).getWebServer().getPort();
			assertThat(output).contains("curl -i " + proxy + "/ok", "curl -i '" + proxy + "/slow?ms=40000'",
					"curl -N '" + proxy + "/sse?interval=500'", "curl -i " + proxy + "/hangup",
					"curl " + proxy + "/actuator/metrics/http.server.hangups",
					"curl " + proxy + "/actuator/prometheus");
		}
	}

	@Test
	void closingTheApplicationStopsTheDemoUpstream() throws IOException {
		int demoPort;
		try (ConfigurableApplicationContext context = start()) {
			demoPort = context.getBean(DemoUpstream.class).getPort();
			new Socket(InetAddress.getLoopbackAddress(), demoPort).close();
		}
		assertThatExceptionOfType(ConnectException.class)
			.isThrownBy(() -> new Socket(InetAddress.getLoopbackAddress(), demoPort).close());
	}

	@Test
	void aConfiguredUpstreamLeavesTheDemoUpstreamOff(CapturedOutput output) {
		try (ConfigurableApplicationContext context = start("sample.upstream-url=http://127.0.0.1:9")) {
			assertThat(context.getBeanProvider(DemoUpstream.class).getIfAvailable()).isNull();
			assertThat(output).doesNotContain("curl ");
		}
	}

	private static ConfigurableApplicationContext start(String... properties) {
		// As arguments: default properties would lose to application.properties' port.
		String[] args = new String[properties.length + 2];
		args[0] = "--server.port=0";
		args[1] = "--spring.main.banner-mode=off";
		for (int i = 0; i < properties.length; i++) {
			args[i + 2] = "--" + properties[i];
		}
		return new SpringApplicationBuilder(SampleApplication.class).run(args);
	}

}
