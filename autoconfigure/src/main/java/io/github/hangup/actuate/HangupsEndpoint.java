package io.github.hangup.actuate;

import java.util.ArrayList;
import java.util.List;

import io.github.hangup.HangupKind;
import io.github.hangup.HangupPhase;
import io.github.hangup.HangupSide;

import org.springframework.boot.actuate.endpoint.annotation.Endpoint;
import org.springframework.boot.actuate.endpoint.annotation.ReadOperation;

/**
 * {@code /actuator/hangups}: what "socket hang up" meant for this instance — totals per
 * side, kind and phase since start, and the most recent hang-ups, each with a sentence
 * saying what happened.
 *
 * @since 0.1.0
 */
@Endpoint(id = "hangups")
public class HangupsEndpoint {

	private final HangupHistory history;

	/**
	 * Create the endpoint.
	 * @param history the history to show
	 */
	public HangupsEndpoint(HangupHistory history) {
		this.history = history;
	}

	/**
	 * Return the totals and the recent hang-ups.
	 * @return the descriptor
	 */
	@ReadOperation
	public HangupsDescriptor hangups() {
		List<Total> totals = new ArrayList<>();
		for (HangupSide side : HangupSide.values()) {
			for (HangupKind kind : HangupKind.values()) {
				for (HangupPhase phase : HangupPhase.values()) {
					totals.add(new Total(side, kind, phase, this.history.total(side, kind, phase)));
				}
			}
		}
		return new HangupsDescriptor(totals, this.history.capacity(), this.history.recent());
	}

	/**
	 * The endpoint's answer.
	 *
	 * @param totals one entry per side, kind and phase, zeros included
	 * @param capacity how many recent events are kept
	 * @param events the recent events, newest first
	 */
	public record HangupsDescriptor(List<Total> totals, int capacity, List<RecordedHangup> events) {

	}

	/**
	 * How many hang-ups of one side, kind and phase happened since start.
	 *
	 * @param side the side
	 * @param kind the kind
	 * @param phase the phase
	 * @param count the count
	 */
	public record Total(HangupSide side, HangupKind kind, HangupPhase phase, long count) {

	}

}
