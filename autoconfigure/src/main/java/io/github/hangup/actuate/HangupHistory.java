package io.github.hangup.actuate;

import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.LongAdder;

import io.github.hangup.HangupEvent;
import io.github.hangup.HangupKind;
import io.github.hangup.HangupListener;
import io.github.hangup.HangupPhase;
import io.github.hangup.HangupSide;
import org.jspecify.annotations.Nullable;

/**
 * Keeps totals per side, kind and phase since start and the most recent hang-ups in a
 * bounded ring buffer. Stores only what an event carries: never query strings, headers,
 * bodies or client addresses.
 *
 * @since 0.1.0
 */
public final class HangupHistory implements HangupListener {

	/** One counter per side, kind and phase, indexed by {@link #index}. */
	private final LongAdder[] totals = new LongAdder[HangupSide.values().length * HangupKind.values().length
			* HangupPhase.values().length];

	private final int capacity;

	private final Object lock = new Object();

	/** Guarded by {@link #lock}. */
	private Entry[] ring;

	private final Clock clock;

	private int next;

	private int size;

	/**
	 * Create a history.
	 * @param capacity how many recent events to keep; 0 keeps none (totals are still
	 * kept)
	 * @param clock the clock that timestamps events
	 */
	public HangupHistory(int capacity, Clock clock) {
		if (capacity < 0) {
			throw new IllegalArgumentException("Capacity must not be negative");
		}
		this.capacity = capacity;
		// Grown as hang-ups arrive, up to the capacity: a large one costs nothing until
		// used.
		this.ring = new Entry[Math.min(capacity, 16)];
		this.clock = clock;
		for (int i = 0; i < this.totals.length; i++) {
			this.totals[i] = new LongAdder();
		}
	}

	private static int index(HangupSide side, HangupKind kind, HangupPhase phase) {
		return (side.ordinal() * HangupKind.values().length + kind.ordinal()) * HangupPhase.values().length
				+ phase.ordinal();
	}

	@Override
	public void onHangup(HangupEvent event) {
		this.totals[index(event.side(), event.kind(), event.phase())].increment();
		if (this.capacity == 0) {
			return;
		}
		// Formatted when the endpoint is read, not on every hang-up: a cancel storm
		// records thousands a second. The cause is dropped, so that the ring holds no
		// exception (nor the request it may reference).
		HangupEvent kept = event.withoutCause();
		// What was wrong with a malformed reply is kept as a phrase, without its
		// exception.
		String reason = event.protocolErrorReason();
		Entry entry = new Entry(this.clock.instant(), kept, reason);
		synchronized (this.lock) {
			if (this.size == this.ring.length && this.ring.length < this.capacity) {
				// Full and allowed to grow: the entries are in order from 0, next is 0
				// again.
				this.ring = Arrays.copyOf(this.ring, Math.min(this.ring.length * 2, this.capacity));
				this.next = this.size;
			}
			this.ring[this.next] = entry;
			this.next = (this.next + 1) % this.ring.length;
			this.size = Math.min(this.size + 1, this.ring.length);
		}
	}

	/**
	 * Return the most recent hang-ups, newest first.
	 * @return at most {@link #capacity()} events
	 */
	public List<RecordedHangup> recent() {
		List<Entry> entries;
		synchronized (this.lock) {
			entries = new ArrayList<>(this.size);
			for (int i = 1; i <= this.size; i++) {
				entries.add(this.ring[Math.floorMod(this.next - i, this.ring.length)]);
			}
		}
		return entries.stream().map((entry) -> RecordedHangup.of(entry.event(), entry.at(), entry.reason())).toList();
	}

	/**
	 * Return how many hang-ups were seen since start for one side, kind and phase.
	 * @param side the side
	 * @param kind the kind
	 * @param phase the phase
	 * @return the count
	 */
	public long total(HangupSide side, HangupKind kind, HangupPhase phase) {
		return this.totals[index(side, kind, phase)].sum();
	}

	/**
	 * Return how many recent events are kept.
	 * @return the capacity
	 */
	public int capacity() {
		return this.capacity;
	}

	private record Entry(Instant at, HangupEvent event, @Nullable String reason) {
	}

}
