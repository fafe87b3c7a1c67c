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

	/** Waits until the meter holds exactly the expected counts. */
	public static void awaitCounts(MeterRegistry registry, String name, Map<String, Long> expected) {
		await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(5))
			.untilAsserted(() -> assertThat(counts(registry, name)).as(name).isEqualTo(new TreeMap<>(expected)));
	}

}
