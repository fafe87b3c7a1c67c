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
	 * Jetty does not turn a request whose body failed to arrive into a {@code 400}: the
	 * status is the one set so far, nothing having been sent.
	 */
	@Override
	int failedUploadStatus() {
		return 200;
	}

}
