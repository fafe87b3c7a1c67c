package io.github.hangup.client;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * The outbound calls in flight, whichever integration made them ({@code WebClient}'s
 * filter, Spring Cloud Gateway's routing): started and not yet ended (answered and read,
 * failed or cancelled). Returns to zero when traffic stops; a value that stays up reveals
 * a call left in flight.
 *
 * @since 0.3.0
 */
public final class OutboundCalls {

	private final AtomicInteger inFlight = new AtomicInteger();

	/**
	 * Return the number of outbound calls started and not yet ended.
	 * @return the calls in flight
	 */
	public int inFlight() {
		return this.inFlight.get();
	}

	void started() {
		this.inFlight.incrementAndGet();
	}

	void ended() {
		this.inFlight.decrementAndGet();
	}

}
