package io.github.hangup.servlet;

import java.util.stream.Stream;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.provider.Arguments;

import static org.junit.jupiter.params.provider.Arguments.arguments;

/**
 * The asynchronous requests of {@link MvcAsyncClientLeavingTests} on Jetty (12.1), run by
 * the {@code jetty-test} execution: a client leaving an event stream or a streamed
 * download is found at the next write, counted once, and its call stopped, without a WARN
 * or ERROR line. A client leaving a request that writes nothing is found by Hangup's
 * watch of the connection, which Jetty does not do.
 */
@Tag("jetty")
class MvcJettyAsyncClientLeavingTests extends MvcAsyncClientLeavingTests {

	/** Only responses that go on being written: found gone at a write. */
	static Stream<Arguments> streamedResponses() {
		return Stream.of(arguments("/sse-emitter", "/trickle", "CLIENT_CANCEL"),
				arguments("/emitter-web-client", "/trickle", "NONE"), arguments("/streaming", "/big", "CLIENT_CANCEL"));
	}

}
