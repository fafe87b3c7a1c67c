package io.github.hangup.gateway.mvc;

import org.junit.jupiter.api.Tag;

/**
 * The tests of {@link GatewayMvcHangupTests} on Jetty (12.1), run by the
 * {@code gateway-mvc-jetty-test} execution, whose class path has Boot's Jetty module in
 * place of its Tomcat module.
 */
@Tag("jetty")
class GatewayMvcJettyHangupTests extends GatewayMvcHangupTests {

	/**
	 * A {@code GET} that says its body is empty. Without it, Jetty's input stream is not
	 * finished before it is read, so Gateway streams an empty chunked body to the
	 * upstream; the JDK {@code HttpClient} then now and then fails the exchange with a
	 * {@code NullPointerException} of its own ({@code Http1Exchange.requestMoreBody}, an
	 * empty streamed body that completes before the client took its subscriber), with or
	 * without Hangup: the test would fail at random for a fault outside what it tests.
	 */
	@Override
	String[] getHeaders() {
		return new String[] { "Content-Length: 0" };
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
