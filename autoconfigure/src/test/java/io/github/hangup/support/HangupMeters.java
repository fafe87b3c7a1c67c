package io.github.hangup.support;

import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Timer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Reads hang-up timers as "tag=value,..." to count maps, so that tests compare the whole
 * set of recorded hang-ups, not one meter.
 */
public final class HangupMeters {

	private HangupMeters() {
	}

	public static Map<String, Long> counts(MeterRegistry registry, String name) {
		Map<String, Long> counts = new TreeMap<>();
		for (Timer timer : registry.find(name).timers()) {
			if (timer.count() > 0) {
				StringBuilder key = new StringBuilder();
				for (Tag tag : timer.getId().getTags()) {
					key.append((key.length() > 0) ? "," : "").append(tag.getKey()).append('=').append(tag.getValue());
				}
				counts.put(key.toString(), timer.count());
			}
		}
		return counts;
	}

	/**
	 * Reads a timer's counts grouped by some of its tags, as "tag=value,...": for Boot's
	 * {@code http.*.requests}, whose other tags vary.
	 */
	public static Map<String, Long> counts(MeterRegistry registry, String name, String... tagKeys) {
		Map<String, Long> counts = new TreeMap<>();
		for (Timer timer : registry.find(name).timers()) {
			if (timer.count() > 0) {
				StringBuilder key = new StringBuilder();
				for (String tagKey : tagKeys) {
					key.append((key.length() > 0) ? "," : "").append(tagKey).append('=').append(timer.getId().getTag(tagKey));
				}
				counts.merge(key.toString(), timer.count(), Long::sum);
			}
		}
		return counts;
	}

	/** Waits until the meter's counts grouped by some tags are exactly the expected ones. */
	public static void awaitCounts(MeterRegistry registry, String name, String tagKey, Map<String, Long> expected) {
		await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(5))
			.untilAsserted(() -> assertThat(counts(registry, name, tagKey)).as(name).isEqualTo(new TreeMap<>(expected)));
		// Settled: a late second recording of the same call would show now.
		await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(2))
			.untilAsserted(() -> assertThat(counts(registry, name, tagKey)).as(name).isEqualTo(new TreeMap<>(expected)));
	}

	/** Waits until the meter holds exactly the expected counts. */
	public static void awaitCounts(MeterRegistry registry, String name, Map<String, Long> expected) {
		await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(5))
			.untilAsserted(() -> assertThat(counts(registry, name)).as(name).isEqualTo(new TreeMap<>(expected)));
	}

}
