package io.github.hangup.support;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Predicate;
import java.util.function.Supplier;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Timer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Reads timers as "tag=value,..." to count maps, so that tests compare the whole set of
 * recorded requests or hang-ups, not one meter: Hangup's own timers with all their tags,
 * Boot's {@code http.server.requests} and {@code http.client.requests} with the tags a test
 * names.
 */
public final class HangupMeters {

	private static final Duration DEADLINE = Duration.ofSeconds(10);

	/** How long counts must stay as expected once reached, so that a late second recording fails. */
	private static final Duration HOLD = Duration.ofMillis(300);

	private static final Duration POLL = Duration.ofMillis(5);

	private HangupMeters() {
	}

	/**
	 * Return the counts of the timers with the given name, keyed by all their tags.
	 */
	public static Map<String, Long> counts(MeterRegistry registry, String name) {
		return counts(registry, name, (key) -> true);
	}

	/**
	 * Return the counts of the timers with the given name, keyed by the given tags only
	 * (in tag order), timers that differ in other tags added up.
	 */
	public static Map<String, Long> counts(MeterRegistry registry, String name, String... tagKeys) {
		return counts(registry, name, List.of(tagKeys)::contains);
	}

	/**
	 * Wait until the timers with the given name hold exactly the expected counts, keyed by
	 * all their tags, then check that they stay so.
	 */
	public static void awaitCounts(MeterRegistry registry, String name, Map<String, Long> expected) {
		awaitAndHold(name, () -> counts(registry, name), expected);
	}

	/**
	 * Wait until the timers with the given name hold exactly the expected counts, keyed by
	 * the given tags, then check that they stay so.
	 */
	public static void awaitCounts(MeterRegistry registry, String name, Map<String, Long> expected,
			String... tagKeys) {
		awaitAndHold(name, () -> counts(registry, name, tagKeys), expected);
	}

	private static Map<String, Long> counts(MeterRegistry registry, String name, Predicate<String> tagKeys) {
		Map<String, Long> counts = new TreeMap<>();
		for (Timer timer : registry.find(name).timers()) {
			if (timer.count() > 0) {
				StringBuilder key = new StringBuilder();
				for (Tag tag : timer.getId().getTags()) {
					if (tagKeys.test(tag.getKey())) {
						key.append((key.length() > 0) ? "," : "").append(tag.getKey()).append('=').append(tag.getValue());
					}
				}
				counts.merge(key.toString(), timer.count(), Long::sum);
			}
		}
		return counts;
	}

	private static void awaitAndHold(String name, Supplier<Map<String, Long>> counts, Map<String, Long> expected) {
		Map<String, Long> sorted = new TreeMap<>(expected);
		await().atMost(DEADLINE)
			.pollInterval(POLL)
			.untilAsserted(() -> assertThat(counts.get()).as(name).isEqualTo(sorted));
		// Reached: from now on any change is a recording too many, seen within the hold.
		await().during(HOLD)
			.atMost(HOLD.multipliedBy(3))
			.pollInterval(POLL)
			.untilAsserted(() -> assertThat(counts.get()).as("%s, %s after they were reached", name, HOLD)
				.isEqualTo(sorted));
	}

}
