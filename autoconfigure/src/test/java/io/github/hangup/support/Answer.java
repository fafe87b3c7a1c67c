package io.github.hangup.support;

import java.io.IOException;
import java.time.Duration;

import io.github.hangup.support.RawHttpClient.Head;

import org.springframework.context.ConfigurableApplicationContext;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What a client got for one request on a connection of its own: the head and the whole
 * body.
 *
 * @param head the status line and headers
 * @param body the body, as text
 */
public record Answer(Head head, String body) {

	/**
	 * Send {@code GET target} to the application on a new connection and read the whole
	 * answer.
	 * @param app the running application
	 * @param target the request target
	 * @param readTimeout how long a read may block
	 * @return the answer
	 * @throws IOException if the connection fails
	 */
	public static Answer get(ConfigurableApplicationContext app, String target, Duration readTimeout)
			throws IOException {
		try (RawHttpClient raw = new RawHttpClient(TestApps.port(app), readTimeout)) {
			Head head = raw.send("GET", target, "Connection: close").readHead();
			return new Answer(head, raw.readRest().text());
		}
	}

	/**
	 * Check that this is Hangup's problem answer of the given status and kind, and that
	 * it names no internal address.
	 * @param status the expected status
	 * @param kind the expected hang-up kind
	 */
	public void assertProblem(int status, String kind) {
		assertThat(this.head.status()).isEqualTo(status);
		assertThat(this.head.header("content-type")).isEqualTo("application/problem+json");
		assertThat(this.body).contains("\"hangup\":\"" + kind + "\"")
			.contains("\"status\":" + status)
			.doesNotContain("127.0.0.1");
	}

}
