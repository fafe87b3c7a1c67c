package io.github.hangup;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;

/**
 * Logs one line per hang-up. Upstream hang-ups answered to an inbound client are logged at
 * WARN without a stack trace (the stack trace follows at DEBUG); clients that left and
 * outbound-only events are logged at DEBUG, because they are normal traffic and the
 * metrics already count them.
 *
 * @since 0.1.0
 */
public final class LoggingHangupListener implements HangupListener {

	private final Log logger;

	/**
	 * Create a listener logging to the {@code io.github.hangup.Hangups} category.
	 */
	public LoggingHangupListener() {
		this(LogFactory.getLog("io.github.hangup.Hangups"));
	}

	LoggingHangupListener(Log logger) {
		this.logger = logger;
	}

	@Override
	public void onHangup(HangupEvent event) {
		boolean warn = event.side() == HangupSide.INBOUND && event.kind().isUpstream();
		if (warn && this.logger.isWarnEnabled()) {
			this.logger.warn(describe(event));
			if (this.logger.isDebugEnabled() && event.cause() != null) {
				this.logger.debug("Cause of " + event.kind() + " on " + event.method() + " " + route(event),
						event.cause());
			}
		}
		else if (!warn && this.logger.isDebugEnabled()) {
			this.logger.debug(describe(event), event.cause());
		}
	}

	static String describe(HangupEvent event) {
		StringBuilder line = new StringBuilder(128).append("Hang-up ")
			.append(event.kind())
			.append(" side=")
			.append(event.side())
			.append(" phase=")
			.append(event.phase())
			.append(" method=")
			.append(event.method())
			.append(" route=")
			.append(route(event))
			.append(" upstream=")
			.append((event.upstream() != null) ? event.upstream() : "-")
			.append(" elapsed=")
			.append(event.elapsed().toMillis())
			.append("ms");
		if (event.status() != null) {
			line.append(" status=").append(event.status());
		}
		return line.toString();
	}

	private static String route(HangupEvent event) {
		return (event.route() != null) ? event.route() : "-";
	}

}
