package io.github.hangup.support;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Predicate;

import io.github.hangup.HangupEvent;
import io.github.hangup.HangupObservations;
import io.github.hangup.HangupSide;
import io.github.hangup.metrics.HangupMetrics;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Timer;

/**
 * Reads timers as "tag=value,..." to count maps, so that tests compare the whole set of
 * recorded requests or hang-ups, not one meter: Hangup's own timers with all their tags,
 * Boot's {@code http.server.requests} and {@code http.client.requests} with the tags a
 * test names.
 */
public final class HangupMeters {

	private HangupMeters() {
	}

	/**
	 * Return the counts of the timers with the given name, keyed by all their tags.
	 */
	/**
	 * The counts of a counter, such as {@code http.client.retries}, keyed by all their
	 * tags.
	 */
	public static Map<String, Double> counters(MeterRegistry registry, String name) {
		Map<String, Double> counts = new TreeMap<>();
		for (Counter counter : registry.find(name).counters()) {
			StringBuilder key = new StringBuilder();
			counter.getId()
				.getTags()
				.forEach((tag) -> key.append((key.length() > 0) ? "," : "")
					.append(tag.getKey())
					.append('=')
					.append(tag.getValue()));
			counts.put(key.toString(), counter.count());
		}
		return counts;
	}

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
	 * Wait until the timers with the given name hold exactly the expected counts, keyed
	 * by all their tags, then check that they stay so for 300 ms.
	 */
	public static void awaitCounts(MeterRegistry registry, String name, Map<String, Long> expected) {
		Settled.awaitAndHold(name, () -> counts(registry, name), new TreeMap<>(expected));
	}

	/**
	 * Wait until the timers with the given name hold exactly the expected counts, keyed
	 * by the given tags, then check that they stay so for 300 ms.
	 */
	public static void awaitCounts(MeterRegistry registry, String name, Map<String, Long> expected, String... tagKeys) {
		Settled.awaitAndHold(name, () -> counts(registry, name, tagKeys), new TreeMap<>(expected));
	}

	/**
	 * Wait until {@code http.client.hangups} holds exactly the expected counts, keyed by
	 * kind, method, phase and upstream (the {@code connection} tag, which tells new from
	 * reused pooled connections, added up), then check that they stay so for 300 ms.
	 */
	public static void awaitClientHangups(MeterRegistry registry, Map<String, Long> expected) {
		awaitCounts(registry, "http.client.hangups", expected, "kind", "method", "phase", "upstream");
	}

	/**
	 * Wait until Hangup's two meters and Boot's two request timers hold exactly the
	 * expected counts, then check that they stay so: {@code http.server.hangups} keyed by
	 * all its tags, {@code http.client.hangups} by kind, method, phase and upstream,
	 * {@code http.server.requests} by the given tags, {@code http.client.requests} by its
	 * hangup key and method.
	 */
	public static void awaitAll(MeterRegistry registry, Map<String, Long> serverHangups,
			Map<String, Long> clientHangups, Map<String, Long> serverRequests, String[] serverRequestTags,
			Map<String, Long> clientRequests) {
		Settled.awaitAndHold("meters", () -> Map.of(HangupMetrics.SERVER_HANGUPS,
				counts(registry, HangupMetrics.SERVER_HANGUPS), "http.client.hangups",
				counts(registry, "http.client.hangups", "kind", "method", "phase", "upstream"), "http.server.requests",
				counts(registry, "http.server.requests", serverRequestTags), "http.client.requests",
				counts(registry, "http.client.requests", HangupObservations.KEY, "method")),
				Map.of(HangupMetrics.SERVER_HANGUPS, new TreeMap<>(serverHangups), "http.client.hangups",
						new TreeMap<>(clientHangups), "http.server.requests", new TreeMap<>(serverRequests),
						"http.client.requests", new TreeMap<>(clientRequests)));
	}

	/**
	 * Describe a hang-up by what its meter is tagged with: side, kind, phase, method, and
	 * the route (inbound) or upstream (outbound).
	 */
	public static String describe(HangupEvent event) {
		return event.side() + " " + event.kind() + " " + event.phase() + " " + event.method() + " "
				+ ((event.side() == HangupSide.INBOUND) ? "route=" + event.route() : "upstream=" + event.upstream());
	}

	private static Map<String, Long> counts(MeterRegistry registry, String name, Predicate<String> tagKeys) {
		Map<String, Long> counts = new TreeMap<>();
		for (Timer timer : registry.find(name).timers()) {
			if (timer.count() > 0) {
				StringBuilder key = new StringBuilder();
				for (Tag tag : timer.getId().getTags()) {
					if (tagKeys.test(tag.getKey())) {
						key.append((key.length() > 0) ? "," : "")
							.append(tag.getKey())
							.append('=')
							.append(tag.getValue());
					}
				}
				counts.merge(key.toString(), timer.count(), Long::sum);
			}
		}
		return counts;
	}

}
