package io.github.hangup.server;

import org.jspecify.annotations.Nullable;

/**
 * The {@link InboundScope} of the request whose code runs on the current thread.
 */
final class CurrentScope {

	/**
	 * A static, like every context-propagation thread local: it is the only way for a
	 * call subscribed outside the reactive chain to find its request.
	 */
	private static final ThreadLocal<InboundScope> CURRENT = new ThreadLocal<>();

	private CurrentScope() {
	}

	static @Nullable InboundScope get() {
		return CURRENT.get();
	}

	/**
	 * Make a scope current on this thread.
	 * @return the scope that was current before, to pass to {@link #restore}
	 */
	static @Nullable InboundScope set(@Nullable InboundScope scope) {
		InboundScope previous = CURRENT.get();
		// set(null) rather than remove(): the entry is reused by the next request on this
		// thread instead of being removed and created again.
		CURRENT.set(scope);
		return previous;
	}

	static void restore(@Nullable InboundScope previous) {
		set(previous);
	}

}
