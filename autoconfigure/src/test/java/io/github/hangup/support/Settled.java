package io.github.hangup.support;

import java.time.Duration;
import java.util.function.Supplier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Waits for what other threads record to reach an expected value, then checks that it
 * stays so for a short hold, so that a late second recording fails instead of passing
 * unseen.
 */
public final class Settled {

	private static final Duration DEADLINE = Duration.ofSeconds(10);

	private static final Duration HOLD = Duration.ofMillis(300);

	private static final Duration POLL = Duration.ofMillis(5);

	private Settled() {
	}

	/**
	 * Wait until the actual value equals the expected one, then check that it stays equal
	 * for 300 ms.
	 * @param description what is compared, for failure messages
	 * @param actual reads the current value
	 * @param expected the expected value
	 * @param <T> the type of the value
	 */
	public static <T> void awaitAndHold(String description, Supplier<T> actual, T expected) {
		await().atMost(DEADLINE)
			.pollInterval(POLL)
			.untilAsserted(() -> assertThat(actual.get()).as(description).isEqualTo(expected));
		// Reached: from now on any change is a recording too many, seen within the hold.
		await().during(HOLD)
			.atMost(HOLD.multipliedBy(3))
			.pollInterval(POLL)
			.untilAsserted(() -> assertThat(actual.get()).as("%s, %s after it was reached", description, HOLD)
				.isEqualTo(expected));
	}

}
