package io.github.hangup.client;

import io.github.hangup.ClientCancelException;
import io.github.hangup.ServerCloseException;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Hooks;
import reactor.core.publisher.Operators;
import reactor.util.Logger;
import reactor.util.Loggers;

/**
 * Keeps the error of a stopped call quiet where nobody handles it. A detached
 * {@code subscribe()} without an error consumer hands that error to Reactor's
 * {@code onErrorDropped}, which logs it at ERROR: a client that left is not worth one.
 * <p>
 * Reactor offers no per-subscriber hook that reaches a bare {@code subscribe()}, so this
 * adds one global hook, once, the first time a call is stopped. The hook logs a stopped
 * call's error at DEBUG and every other dropped error as Reactor does when no hook is
 * set. Reactor runs every hook added with {@link Hooks#onErrorDropped}, so an
 * application's own hook still sees everything.
 */
final class StoppedCalls {

	private StoppedCalls() {
	}

	/**
	 * Make sure the hook is installed: once per class loader, by class initialization.
	 */
	static void quietWhenDropped() {
		Hook.install();
	}

	/** The stop in an error's cause chain, if any: a dropped error may wrap it. */
	static @Nullable Throwable stopIn(Throwable error) {
		int depth = 0;
		for (Throwable t = error; t != null && depth < 8; t = (t.getCause() != t) ? t.getCause() : null, depth++) {
			if (t instanceof ClientCancelException || t instanceof ServerCloseException) {
				return t;
			}
		}
		return null;
	}

	private static final class Hook {

		private static final Log logger = LogFactory.getLog("io.github.hangup.Hangups");

		/** Reactor's own category and line for a dropped error when no hook is set. */
		private static final Logger reactorLogger = Loggers.getLogger(Operators.class);

		static {
			Hooks.onErrorDropped(Hook::dropped);
		}

		/** Nothing to do: calling it initializes the class, which adds the hook once. */
		static void install() {
		}

		private static void dropped(Throwable error) {
			Throwable stop = stopIn(error);
			if (stop == null) {
				reactorLogger.error("Operator called default onErrorDropped", error);
			}
			else if (logger.isDebugEnabled()) {
				logger.debug("Stopped call had no error handler: " + stop.getMessage());
			}
		}

	}

}
