package io.github.hangup;

import java.util.Arrays;
import java.util.Set;

import io.micrometer.common.KeyValue;
import io.micrometer.observation.Observation;
import io.micrometer.tracing.handler.TracingObservationHandler;
import org.jspecify.annotations.Nullable;

import org.springframework.util.ClassUtils;

/**
 * The {@code hangup} key added to the {@code http.server.requests} and
 * {@code http.client.requests} observations, so that dashboards can split an
 * {@code UNKNOWN} outcome into what really happened, and the span event that marks a
 * hang-up.
 *
 * @since 0.1.0
 */
public final class HangupObservations {

	/**
	 * Low-cardinality key holding the {@link HangupKind} or {@link #NONE}.
	 */
	public static final String KEY = "hangup";

	/**
	 * Value of {@link #KEY} when the request did not hang up.
	 */
	public static final String NONE = "NONE";

	/**
	 * Name of the span event added when a request hangs up.
	 */
	public static final String EVENT = "hangup";

	private static final boolean TRACING_PRESENT = ClassUtils.isPresent(
			"io.micrometer.tracing.handler.TracingObservationHandler", HangupObservations.class.getClassLoader());

	private static final KeyValue NO_HANGUP = KeyValue.of(KEY, NONE);

	/**
	 * Value standing for every HTTP method that is not a standard one, wherever a method
	 * is a tag, a log field or an event field.
	 */
	public static final String OTHER_METHOD = "OTHER";

	private static final Set<String> STANDARD_METHODS = Set.of("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE",
			"OPTIONS", "TRACE", "CONNECT");

	private static final String METHOD_KEY = "method";

	private static final KeyValue OTHER_METHOD_KEY_VALUE = KeyValue.of(METHOD_KEY, OTHER_METHOD);

	private static final KeyValue[] HANGUPS = Arrays.stream(HangupKind.values())
		.map((kind) -> KeyValue.of(KEY, kind.name()))
		.toArray(KeyValue[]::new);

	private HangupObservations() {
	}

	/**
	 * Return a method as it may be recorded: a proxy forwards whatever method its client
	 * sends, and a raw one would let any client grow tags, log lines and events at will.
	 * @param method the HTTP method as received
	 * @return the method if standard, otherwise {@link #OTHER_METHOD}
	 * @since 0.2.0
	 */
	public static String method(String method) {
		return STANDARD_METHODS.contains(method) ? method : OTHER_METHOD;
	}

	/**
	 * Replace a non-standard {@code method} key of an ending HTTP observation with
	 * {@link #OTHER_METHOD}.
	 * @param context the observation context, being stopped
	 * @since 0.2.0
	 */
	public static void boundMethod(Observation.Context context) {
		KeyValue method = context.getLowCardinalityKeyValue(METHOD_KEY);
		if (method != null && !STANDARD_METHODS.contains(method.getValue())) {
			context.addLowCardinalityKeyValue(OTHER_METHOD_KEY_VALUE);
		}
	}

	/**
	 * Tag an ending observation with its hang-up kind and, when it is traced, add an
	 * event to its span. The span's {@code hangup} tag comes from the key: observation
	 * filters run before the handlers see the stop, and the tracing handlers copy every
	 * key value onto the span then.
	 * @param context the observation context, being stopped
	 * @param kind the kind, or {@code null} when the request did not hang up
	 */
	public static void tag(Observation.Context context, @Nullable HangupKind kind) {
		context.addLowCardinalityKeyValue((kind != null) ? HANGUPS[kind.ordinal()] : NO_HANGUP);
		if (kind != null && TRACING_PRESENT) {
			Tracing.event(context, kind);
		}
	}

	/**
	 * Isolates the tracing types so that applications without tracing never load them.
	 */
	private static final class Tracing {

		static void event(Observation.Context context, HangupKind kind) {
			TracingObservationHandler.TracingContext tracing = context
				.get(TracingObservationHandler.TracingContext.class);
			if (tracing != null && tracing.getSpan() != null) {
				// Filters run when the observation stops, which is the moment of the
				// hang-up for cancels and right after the answer for upstream failures.
				tracing.getSpan().event(EVENT + " " + kind.name());
			}
		}

	}

}
