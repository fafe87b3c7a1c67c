package io.github.hangup.server;

import io.github.hangup.DefaultHangupClassifier;
import io.github.hangup.HangupRecorder;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Unit checks of the web filter; its behaviour is tested on real servers elsewhere.
 */
class HangupWebFilterTests {

	@Test
	void descriptionIsOneConstantStringSinceWebFluxAsksForItOnEveryRequest() {
		HangupWebFilter filter = new HangupWebFilter(
				new InboundHangups(new DefaultHangupClassifier(), HangupRecorder.of()));
		assertThat(filter.toString()).isEqualTo(HangupWebFilter.class.getName()).isSameAs(filter.toString());
	}

}
