package io.github.hangup.gateway.mvc;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;

/**
 * The tests of {@link GatewayMvcHangupTests} on Jetty (12.1), run by the
 * {@code gateway-mvc-jetty-test} execution, whose class path has Boot's Jetty module in
 * place of its Tomcat module.
 */
@Tag("jetty")
class GatewayMvcJettyHangupTests extends GatewayMvcHangupTests {

	/**
	 * Only Apache HttpClient 5 on Jetty. Jetty's request input is not finished before it
	 * is read, so Gateway relays each {@code GET} with an empty streamed body; the JDK
	 * {@code HttpClient} now and then fails such an exchange with a
	 * {@code NullPointerException} of its own ({@code Http1Exchange.requestMoreBody}: the
	 * body completes before the client took its subscriber), answered {@code 500} with or
	 * without Hangup, which would fail any of these tests at random. The JDK client is
	 * tested with Gateway on Tomcat, and with Jetty through {@code RestClient}
	 * ({@code MvcJettyRequestFactoryMatrixTests}).
	 */
	@Override
	void assumeRunsOn(String factory) {
		Assumptions.assumeFalse(factory.equals("jdk"), "the JDK client's own race on Jetty, see the javadoc");
	}

	/**
	 * Jetty does not turn a request whose body failed to arrive into a {@code 400}: the
	 * status is the one set so far, nothing having been sent.
	 */
	@Override
	int failedUploadStatus() {
		return 200;
	}

}
