package io.github.hangup;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.apache.commons.logging.Log;
import org.junit.jupiter.api.Test;

import org.springframework.boot.logging.LogLevel;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * One line per hang-up at the level configured for its kind; stack traces only at DEBUG.
 */
class LoggingHangupListenerTests {

	private final RecordingLog log = new RecordingLog(LogLevel.INFO);

	@Test
	void upstreamResetIsOneWarnLineWithoutStackTrace() {
		listener(Map.of()).onHangup(inbound(HangupKind.UPSTREAM_RESET, new IllegalStateException("boom")));
		assertThat(this.log.lines).containsExactly("WARN Hang-up UPSTREAM_RESET side=INBOUND phase=BEFORE_RESPONSE "
				+ "method=GET route=/items/{id} upstream=catalog:8080 elapsed=312ms status=502 cause=none");
	}

	@Test
	void clientCancelIsNotLoggedAboveDebugByDefault() {
		listener(Map.of()).onHangup(inbound(HangupKind.CLIENT_CANCEL, null));
		assertThat(this.log.lines).isEmpty();
	}

	@Test
	void clientCancelLevelIsConfigurable() {
		listener(Map.of(HangupKind.CLIENT_CANCEL, LogLevel.INFO)).onHangup(inbound(HangupKind.CLIENT_CANCEL, null));
		assertThat(this.log.lines).singleElement().asString().startsWith("INFO Hang-up CLIENT_CANCEL");
	}

	@Test
	void upstreamLevelCanBeTurnedOff() {
		listener(Map.of(HangupKind.UPSTREAM_TIMEOUT, LogLevel.OFF))
			.onHangup(inbound(HangupKind.UPSTREAM_TIMEOUT, null));
		assertThat(this.log.lines).isEmpty();
	}

	@Test
	void stackTraceFollowsAtDebugOnly() {
		RecordingLog debug = new RecordingLog(LogLevel.DEBUG);
		new LoggingHangupListener(debug, Map.of())
			.onHangup(inbound(HangupKind.UPSTREAM_RESET, new IllegalStateException("boom")));
		assertThat(debug.lines).hasSize(2);
		assertThat(debug.lines.get(0)).startsWith("WARN ").endsWith("cause=none");
		assertThat(debug.lines.get(1)).startsWith("DEBUG Cause of UPSTREAM_RESET").endsWith("cause=boom");
	}

	@Test
	void outboundEventsAreDebugOnlySoTheInboundLineIsNotRepeated() {
		listener(Map.of()).onHangup(HangupEvent
			.outbound(HangupKind.UPSTREAM_RESET, HangupPhase.BEFORE_RESPONSE, "GET", Duration.ofMillis(5))
			.upstream("catalog:8080")
			.build());
		assertThat(this.log.lines).isEmpty();
	}

	private LoggingHangupListener listener(Map<HangupKind, LogLevel> levels) {
		return new LoggingHangupListener(this.log, levels);
	}

	private static HangupEvent inbound(HangupKind kind, Throwable cause) {
		return HangupEvent.inbound(kind, HangupPhase.BEFORE_RESPONSE, "GET", Duration.ofMillis(312))
			.route("/items/{id}")
			.upstream("catalog:8080")
			.status(kind.isUpstream() ? 502 : null)
			.cause(cause)
			.build();
	}

	/**
	 * A log that records what it is given at or above a threshold.
	 */
	static final class RecordingLog implements Log {

		final List<String> lines = new ArrayList<>();

		private final LogLevel threshold;

		RecordingLog(LogLevel threshold) {
			this.threshold = threshold;
		}

		private boolean enabled(LogLevel level) {
			return level.compareTo(this.threshold) >= 0;
		}

		private void add(LogLevel level, Object message, Throwable t) {
			if (enabled(level)) {
				this.lines.add(level + " " + message + " cause=" + ((t != null) ? t.getMessage() : "none"));
			}
		}

		@Override
		public boolean isTraceEnabled() {
			return enabled(LogLevel.TRACE);
		}

		@Override
		public boolean isDebugEnabled() {
			return enabled(LogLevel.DEBUG);
		}

		@Override
		public boolean isInfoEnabled() {
			return enabled(LogLevel.INFO);
		}

		@Override
		public boolean isWarnEnabled() {
			return enabled(LogLevel.WARN);
		}

		@Override
		public boolean isErrorEnabled() {
			return enabled(LogLevel.ERROR);
		}

		@Override
		public boolean isFatalEnabled() {
			return enabled(LogLevel.FATAL);
		}

		@Override
		public void trace(Object message) {
			add(LogLevel.TRACE, message, null);
		}

		@Override
		public void trace(Object message, Throwable t) {
			add(LogLevel.TRACE, message, t);
		}

		@Override
		public void debug(Object message) {
			add(LogLevel.DEBUG, message, null);
		}

		@Override
		public void debug(Object message, Throwable t) {
			add(LogLevel.DEBUG, message, t);
		}

		@Override
		public void info(Object message) {
			add(LogLevel.INFO, message, null);
		}

		@Override
		public void info(Object message, Throwable t) {
			add(LogLevel.INFO, message, t);
		}

		@Override
		public void warn(Object message) {
			add(LogLevel.WARN, message, null);
		}

		@Override
		public void warn(Object message, Throwable t) {
			add(LogLevel.WARN, message, t);
		}

		@Override
		public void error(Object message) {
			add(LogLevel.ERROR, message, null);
		}

		@Override
		public void error(Object message, Throwable t) {
			add(LogLevel.ERROR, message, t);
		}

		@Override
		public void fatal(Object message) {
			add(LogLevel.FATAL, message, null);
		}

		@Override
		public void fatal(Object message, Throwable t) {
			add(LogLevel.FATAL, message, t);
		}

	}

}
