package io.github.hangup.actuate;

import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;

import io.github.hangup.HangupEvent;
import io.github.hangup.HangupKind;
import io.github.hangup.HangupPhase;
import io.github.hangup.HangupSide;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

/**
 * The ring keeps the newest events, stamped when they were recorded, and counts all of
 * them.
 */
class HangupHistoryTests {

	private final SteppingClock clock = new SteppingClock(Instant.parse("2026-01-01T00:00:00Z"));

	@Test
	void recentEventsAreNewestFirstStampedWhenRecordedAndBounded() {
		HangupHistory history = new HangupHistory(2, this.clock);
		history.onHangup(event(HangupKind.UPSTREAM_TIMEOUT, null));
		this.clock.step();
		history.onHangup(event(HangupKind.UPSTREAM_RESET, new IOException("Connection reset")));
		this.clock.step();
		history.onHangup(event(HangupKind.CLIENT_CANCEL, null));
		this.clock.step();
		assertThat(history.recent()).extracting(RecordedHangup::kind, RecordedHangup::timestamp)
			.containsExactly(tuple(HangupKind.CLIENT_CANCEL, "2026-01-01T00:00:02Z"),
					tuple(HangupKind.UPSTREAM_RESET, "2026-01-01T00:00:01Z"));
		assertThat(history.recent().get(1).explanation())
			.startsWith("The upstream 10.0.0.7:8080 closed the connection before answering GET /items/{id}");
		assertThat(history.total(HangupSide.INBOUND, HangupKind.UPSTREAM_TIMEOUT, HangupPhase.BEFORE_RESPONSE)).isOne();
	}

	@Test
	void ringGrowsAsHangupsArriveAndKeepsTheNewestInOrder() {
		HangupHistory history = new HangupHistory(100, this.clock);
		for (int i = 0; i < 250; i++) {
			history.onHangup(HangupEvent
				.inbound(HangupKind.CLIENT_CANCEL, HangupPhase.BEFORE_RESPONSE, "GET", Duration.ofMillis(i))
				.route("/items/{id}")
				.build());
			if (i == 39) {
				assertThat(history.recent()).extracting(RecordedHangup::elapsedMillis)
					.containsExactlyElementsOf(descending(39, 40));
			}
		}
		assertThat(history.capacity()).isEqualTo(100);
		assertThat(history.recent()).extracting(RecordedHangup::elapsedMillis)
			.containsExactlyElementsOf(descending(249, 100));
		assertThat(history.total(HangupSide.INBOUND, HangupKind.CLIENT_CANCEL, HangupPhase.BEFORE_RESPONSE))
			.isEqualTo(250);
	}

	private static java.util.List<Long> descending(long from, int count) {
		return java.util.stream.LongStream.rangeClosed(from - count + 1, from)
			.boxed()
			.sorted(java.util.Comparator.reverseOrder())
			.toList();
	}

	private static HangupEvent event(HangupKind kind, Throwable cause) {
		return HangupEvent.inbound(kind, HangupPhase.BEFORE_RESPONSE, "GET", Duration.ofMillis(12))
			.route("/items/{id}")
			.upstream("10.0.0.7:8080")
			.status(502)
			.cause(cause)
			.build();
	}

	static final class SteppingClock extends Clock {

		private Instant now;

		SteppingClock(Instant start) {
			this.now = start;
		}

		void step() {
			this.now = this.now.plusSeconds(1);
		}

		@Override
		public ZoneId getZone() {
			return ZoneOffset.UTC;
		}

		@Override
		public Clock withZone(ZoneId zone) {
			return this;
		}

		@Override
		public Instant instant() {
			return this.now;
		}

	}

}
