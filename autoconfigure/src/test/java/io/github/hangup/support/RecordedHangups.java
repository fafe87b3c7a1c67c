package io.github.hangup.support;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import io.github.hangup.HangupEvent;
import io.github.hangup.HangupListener;

/**
 * Collects hang-ups from whatever thread records them, often a Netty event loop after the
 * caller already saw the error, and reads them once settled.
 */
public final class RecordedHangups implements HangupListener {

	private final List<HangupEvent> events = new CopyOnWriteArrayList<>();

	@Override
	public void onHangup(HangupEvent event) {
		this.events.add(event);
	}

	/**
	 * Wait until exactly this many hang-ups were recorded and no other follows.
	 * @param count the number of hang-ups expected
	 * @return the hang-ups, in the order recorded
	 */
	public List<HangupEvent> await(int count) {
		Settled.awaitAndHold("recorded hang-ups", this.events::size, count);
		return List.copyOf(this.events);
	}

}
