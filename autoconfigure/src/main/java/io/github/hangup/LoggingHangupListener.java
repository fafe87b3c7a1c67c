package io.github.hangup;

import java.util.EnumMap;
import java.util.Map;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;

import org.springframework.boot.logging.LogLevel;

/**
 * Logs one line per hang-up on the {@code io.github.hangup.Hangups} category. Inbound
 * hang-ups are logged at the level configured for their kind (by default DEBUG for
 * clients that left, which are normal traffic, and WARN for upstream failures);
 * outbound-only events at DEBUG, since the inbound line already tells the story. Stack
 * traces are only ever logged at DEBUG.
 *
 * @since 0.1.0
 */
public final class LoggingHangupListener implements HangupListener {

	private final Log logger;

	private final Map<HangupKind, LogLevel> levels;

	/**
	 * Create a listener with the default levels.
	 */
	public LoggingHangupListener() {
		this(defaultLevels());
	}

	/**
	 * Create a listener.
	 * @param levels level of the line logged for an inbound hang-up of each kind; missing
	 * kinds use the defaults
	 */
	public LoggingHangupListener(Map<HangupKind, LogLevel> levels) {
		this(LogFactory.getLog("io.github.hangup.Hangups"), levels);
	}

	LoggingHangupListener(Log logger, Map<HangupKind, LogLevel> levels) {
		this.logger = logger;
		this.levels = defaultLevels();
		this.levels.putAll(levels);
	}

	/**
	 * Return the default levels: DEBUG for {@code CLIENT_CANCEL}, WARN for upstream
	 * kinds.
	 * @return a new mutable map of the default levels
	 */
	public static Map<HangupKind, LogLevel> defaultLevels() {
		Map<HangupKind, LogLevel> levels = new EnumMap<>(HangupKind.class);
		for (HangupKind kind : HangupKind.values()) {
			levels.put(kind, kind.isUpstream() ? LogLevel.WARN : LogLevel.DEBUG);
		}
		return levels;
	}

	@Override
	public void onHangup(HangupEvent event) {
		LogLevel level = (event.side() == HangupSide.INBOUND) ? level(event.kind()) : LogLevel.DEBUG;
		if (!isEnabled(level)) {
			return;
		}
		String line = describe(event);
		Throwable cause = event.cause();
		switch (level) {
			case TRACE -> this.logger.trace(line, cause);
			case DEBUG -> this.logger.debug(line, cause);
			case INFO -> this.logger.info(line);
			case WARN -> this.logger.warn(line);
			case ERROR, FATAL -> this.logger.error(line);
			case OFF -> {
				return;
			}
		}
		if (level.compareTo(LogLevel.DEBUG) > 0 && cause != null && this.logger.isDebugEnabled()) {
			this.logger.debug("Cause of " + event.kind() + " on " + event.method() + " " + route(event), cause);
		}
	}

	private LogLevel level(HangupKind kind) {
		LogLevel level = this.levels.get(kind);
		return (level != null) ? level : LogLevel.DEBUG;
	}

	private boolean isEnabled(LogLevel level) {
		return switch (level) {
			case TRACE -> this.logger.isTraceEnabled();
			case DEBUG -> this.logger.isDebugEnabled();
			case INFO -> this.logger.isInfoEnabled();
			case WARN -> this.logger.isWarnEnabled();
			case ERROR, FATAL -> this.logger.isErrorEnabled();
			case OFF -> false;
		};
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
		UpstreamConnection connection = event.connection();
		if (connection != null && connection.reused()) {
			line.append(" connection=REUSED");
			// Zero when not known, as for a connection of Gateway's pool.
			if (!connection.idle().isZero()) {
				line.append(" idle=").append(connection.idle().toMillis()).append("ms");
			}
			line.append(" requests=").append(connection.requests());
			if (event.isStaleConnection()) {
				line.append(" stale=true");
			}
		}
		String reason = event.protocolErrorReason();
		if (reason != null) {
			line.append(" reason=\"").append(reason).append('"');
		}
		return line.toString();
	}

	@Override
	public void onRetry(HangupRetry retry) {
		if (this.logger.isDebugEnabled()) {
			this.logger.debug("Retried " + retry.method() + " to upstream=" + retry.upstream()
					+ " on a new connection: " + retry.reason() + " (reused connection idle=" + retry.idle().toMillis()
					+ "ms requests=" + retry.connection().requests() + ")", retry.cause());
		}
	}

	private static String route(HangupEvent event) {
		return (event.route() != null) ? event.route() : "-";
	}

}
