package io.github.hangup.metrics;

import java.util.Arrays;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import io.github.hangup.HangupEvent;
import io.github.hangup.HangupKind;
import io.github.hangup.HangupListener;
import io.github.hangup.HangupObservations;
import io.github.hangup.HangupRetry;
import io.github.hangup.UpstreamConnection;
import io.github.hangup.HangupPhase;
import io.github.hangup.HangupSide;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import org.jspecify.annotations.Nullable;

/**
 * Records hang-ups on the {@value HangupMetrics#SERVER_HANGUPS} and
 * {@value HangupMetrics#CLIENT_HANGUPS} timers. Every tag value comes from a bounded set:
 * kinds, phases and standard methods are enums, routes are patterns, and upstreams are
 * capped at a configured number of distinct values beyond which they are tagged
 * {@value HangupMetrics#OTHER}.
 *
 * @since 0.1.0
 */
public final class MicrometerHangupListener implements HangupListener {

	/** Built once per value, indexed by ordinal. */
	private static final Tag[] KIND_TAGS = Arrays.stream(HangupKind.values())
		.map((kind) -> Tag.of(HangupMetrics.KIND, kind.name()))
		.toArray(Tag[]::new);

	private static final Tag[] PHASE_TAGS = Arrays.stream(HangupPhase.values())
		.map((phase) -> Tag.of(HangupMetrics.PHASE, phase.name()))
		.toArray(Tag[]::new);

	private final Meter.MeterProvider<Timer> serverHangups;

	private final Meter.MeterProvider<Timer> clientHangups;

	private final Meter.MeterProvider<Counter> clientRetries;

	private final int maxUpstreamTags;

	private final Set<String> upstreams = ConcurrentHashMap.newKeySet();

	/**
	 * Create a listener.
	 * @param registry the registry to record to
	 * @param maxUpstreamTags how many distinct {@code upstream} values to keep before
	 * tagging the rest {@value HangupMetrics#OTHER}
	 */
	public MicrometerHangupListener(MeterRegistry registry, int maxUpstreamTags) {
		this.serverHangups = Timer.builder(HangupMetrics.SERVER_HANGUPS)
			.description("Inbound requests that hung up: the client left, or an upstream failure was answered")
			.withRegistry(registry);
		this.clientHangups = Timer.builder(HangupMetrics.CLIENT_HANGUPS)
			.description("Outbound calls that hung up: upstream timeout, reset or unreachable, or cancelled "
					+ "because the inbound client left")
			.withRegistry(registry);
		this.clientRetries = Counter.builder(HangupMetrics.CLIENT_RETRIES)
			.description("Outbound calls sent a second time, on a new connection, after their first attempt "
					+ "failed on a stale keep-alive connection")
			.withRegistry(registry);
		this.maxUpstreamTags = maxUpstreamTags;
	}

	@Override
	public void onRetry(HangupRetry retry) {
		this.clientRetries.withTags(Tags.of(Tag.of(HangupMetrics.METHOD, HangupObservations.method(retry.method())),
				Tag.of(HangupMetrics.REASON, retry.reason()),
				Tag.of(HangupMetrics.UPSTREAM, upstream(retry.upstream()))))
			.increment();
	}

	@Override
	public void onHangup(HangupEvent event) {
		Tags tags = Tags.of(KIND_TAGS[event.kind().ordinal()], PHASE_TAGS[event.phase().ordinal()],
				Tag.of(HangupMetrics.METHOD, HangupObservations.method(event.method())));
		Timer timer;
		if (event.side() == HangupSide.INBOUND) {
			String route = (event.route() != null) ? event.route() : HangupMetrics.UNKNOWN;
			timer = this.serverHangups.withTags(tags.and(HangupMetrics.URI, route));
		}
		else {
			UpstreamConnection connection = event.connection();
			timer = this.clientHangups.withTags(tags.and(HangupMetrics.UPSTREAM, upstream(event.upstream()))
				.and(HangupMetrics.CONNECTION, (connection != null) ? connection.tagValue() : HangupMetrics.UNKNOWN));
		}
		timer.record(event.elapsed());
	}

	private String upstream(@Nullable String upstream) {
		if (upstream == null) {
			return HangupMetrics.UNKNOWN;
		}
		if (this.upstreams.contains(upstream)) {
			return upstream;
		}
		// Racing threads may overshoot the cap by a few values; the set stays bounded.
		if (this.upstreams.size() < this.maxUpstreamTags) {
			this.upstreams.add(upstream);
			return upstream;
		}
		return HangupMetrics.OTHER;
	}

}
