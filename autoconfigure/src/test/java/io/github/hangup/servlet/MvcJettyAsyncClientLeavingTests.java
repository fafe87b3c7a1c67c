package io.github.hangup.servlet;

import java.util.stream.Stream;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.provider.Arguments;

import org.springframework.boot.test.system.CapturedOutput;

import static org.junit.jupiter.params.provider.Arguments.arguments;

/**
 * The asynchronous requests of {@link MvcAsyncClientLeavingTests} on Jetty (12.1), run by
 * the {@code jetty-test} execution: a client leaving an event stream or a streamed
 * download is found at the next write, counted once, and its call stopped, without a WARN
 * or ERROR line. Jetty does not tell an asynchronous request that its client left while
 * it writes nothing, and Hangup does not watch Jetty's connections: those requests are
 * not tested here.
 */
@Tag("jetty")
class MvcJettyAsyncClientLeavingTests extends MvcAsyncClientLeavingTests {

	/** Only responses that go on being written: found gone at a write. */
	static Stream<Arguments> streamedResponses() {
		return Stream.of(arguments("/sse-emitter", "/trickle", "CLIENT_CANCEL"),
				arguments("/emitter-web-client", "/trickle", "NONE"), arguments("/streaming", "/big", "CLIENT_CANCEL"));
	}

	/**
	 * Not a test on Jetty, which does not tell a request that writes nothing that its
	 * client left.
	 */
	@Override
	void clientLeavingARequestThatWritesNothingIsCountedOnceAndStopsItsCall(String route, String upstreamPath,
			String callPhase, CapturedOutput output) {
	}

}
