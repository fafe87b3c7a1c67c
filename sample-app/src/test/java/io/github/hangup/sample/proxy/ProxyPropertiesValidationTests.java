package io.github.hangup.sample.proxy;

import io.github.hangup.sample.SampleApplication;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.context.ConfigurableApplicationContext;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatException;

/**
 * Start-up with a bad upstream configuration fails, and the failure analysis names the
 * property to fix.
 */
@ExtendWith(OutputCaptureExtension.class)
class ProxyPropertiesValidationTests {

	@Test
	void aRouteUriThatIsNotHttpFailsStartUpNamingTheProperty(CapturedOutput output) {
		assertStartUpFails("sample.routes.x.prefix=/x", "sample.routes.x.uri=ftp://files.example.com");
		assertThat(output).contains("Property: sample.routes.x.uri", "Value: \"ftp://files.example.com\"",
				"Reason: must be an absolute http or https URI");
	}

	@Test
	void anUnparsableRouteUriFailsStartUpNamingTheProperty(CapturedOutput output) {
		assertStartUpFails("sample.routes.x.prefix=/x", "sample.routes.x.uri=http://[::1");
		assertThat(output).contains("Failed to bind properties under 'sample.routes.x.uri' to java.net.URI");
	}

	@Test
	void aRouteUriWithoutHostFailsStartUpNamingTheProperty(CapturedOutput output) {
		assertStartUpFails("sample.routes.x.prefix=/x", "sample.routes.x.uri=http:/no-host");
		assertThat(output).contains("Property: sample.routes.x.uri", "Reason: must name a host");
	}

	@Test
	void aRouteWithoutUriFailsStartUpNamingTheProperty(CapturedOutput output) {
		assertStartUpFails("sample.routes.x.prefix=/x");
		assertThat(output).contains("Property: sample.routes.x.uri", "Reason: must not be empty");
	}

	@Test
	void aRouteWithoutPrefixFailsStartUpNamingTheProperty(CapturedOutput output) {
		assertStartUpFails("sample.routes.x.uri=http://localhost:9000");
		assertThat(output).contains("Property: sample.routes.x.prefix", "Reason: must not be empty");
	}

	@Test
	void aRelativePrefixFailsStartUpNamingTheProperty(CapturedOutput output) {
		assertStartUpFails("sample.routes.x.prefix=x", "sample.routes.x.uri=http://localhost:9000");
		assertThat(output).contains("Property: sample.routes.x.prefix", "Reason: must start with '/'");
	}

	@Test
	void aPrefixWithPatternSyntaxFailsStartUpNamingTheProperty(CapturedOutput output) {
		assertStartUpFails("sample.routes.a.prefix=/a/{x", "sample.routes.a.uri=http://localhost:9000");
		assertThat(output).contains("Property: sample.routes.a.prefix", "must be a literal path");
	}

	@Test
	void anUpstreamUrlWithAQueryFailsStartUpNamingTheProperty(CapturedOutput output) {
		assertStartUpFails("sample.upstream-url=http://localhost:9000/?a=b");
		assertThat(output).contains("Property: sample.upstream-url", "Reason: must not have a query or fragment");
	}

	private static void assertStartUpFails(String... properties) {
		assertThatException().isThrownBy(() -> {
			try (ConfigurableApplicationContext context = new SpringApplicationBuilder(SampleApplication.class)
				.properties(properties)
				.properties("server.port=0", "spring.main.banner-mode=off")
				.run()) {
				// Not reached: start-up fails.
			}
		});
	}

}
