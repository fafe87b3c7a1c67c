package io.github.hangup.server;

import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.Set;

import io.github.hangup.server.InboundScope.Participant;

/**
 * The outbound calls joined to one inbound request. Copied on write under this object's
 * lock: a request makes few outbound calls, and readers iterate without locking while
 * calls leave. Each call is removed, and so told, at most once.
 */
final class Participants {

	private static final Participant[] NONE = {};

	private volatile Participant[] joined = NONE;

	void add(Participant participant) {
		synchronized (this) {
			Participant[] joined = this.joined;
			Participant[] grown = Arrays.copyOf(joined, joined.length + 1);
			grown[joined.length] = participant;
			this.joined = grown;
		}
	}

	/**
	 * Remove a participant.
	 * @return {@code true} for the one caller that removed it
	 */
	boolean remove(Participant participant) {
		synchronized (this) {
			Participant[] joined = this.joined;
			for (int i = 0; i < joined.length; i++) {
				if (joined[i] == participant) {
					Participant[] shrunk = (joined.length == 1) ? NONE : new Participant[joined.length - 1];
					System.arraycopy(joined, 0, shrunk, 0, i);
					System.arraycopy(joined, i + 1, shrunk, i, joined.length - i - 1);
					this.joined = shrunk;
					return true;
				}
			}
			return false;
		}
	}

	void clear() {
		if (this.joined.length > 0) {
			synchronized (this) {
				this.joined = NONE;
			}
		}
	}

	/**
	 * Tell the calls already cancelled that their client is gone.
	 * @return the upstreams of all the calls joined, without duplicates
	 */
	Set<String> tellCancelled() {
		Set<String> upstreams = new LinkedHashSet<>();
		for (Participant participant : this.joined) {
			upstreams.add(participant.upstream());
			if (participant.isCancelled() && remove(participant)) {
				participant.onClientGone();
			}
		}
		return upstreams;
	}

	/** Tell every call still joined that its client is gone. */
	void tellAll() {
		for (Participant participant : this.joined) {
			if (remove(participant)) {
				participant.onClientGone();
			}
		}
	}

	boolean anyCancelled() {
		for (Participant participant : this.joined) {
			if (participant.isCancelled()) {
				return true;
			}
		}
		return false;
	}

	int size() {
		return this.joined.length;
	}

}
