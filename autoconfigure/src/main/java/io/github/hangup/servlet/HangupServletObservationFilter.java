package io.github.hangup.servlet;

import io.github.hangup.HangupKind;
import io.github.hangup.HangupObservations;
import io.github.hangup.HangupPhase;
import io.github.hangup.server.InboundScope;
import io.github.hangup.server.InboundScopes;
import io.micrometer.common.KeyValue;
import io.micrometer.core.instrument.binder.http.Outcome;
import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationFilter;
import jakarta.servlet.http.HttpServletRequest;
import org.jspecify.annotations.Nullable;

import org.springframework.http.server.observation.ServerRequestObservationContext;

/**
 * Adds the {@code hangup} key to the {@code http.server.requests} observations of Spring
 * MVC, as {@link io.github.hangup.server.HangupServerObservationFilter} does for WebFlux,
 * and, when configured, records requests whose client left with a status of their own
 * (nginx uses 499).
 *
 * @since 0.3.0
 */
public final class HangupServletObservationFilter implements ObservationFilter {

	private final @Nullable Integer clientClosedStatus;

	/**
	 * Create a filter.
	 * @param clientClosedStatus status recorded for requests whose client left, or
	 * {@code null} to keep the status the container had set
	 */
	public HangupServletObservationFilter(@Nullable Integer clientClosedStatus) {
		this.clientClosedStatus = clientClosedStatus;
	}

	@Override
	public Observation.Context map(Observation.Context context) {
		if (!(context instanceof ServerRequestObservationContext server)) {
			return context;
		}
		HttpServletRequest request = server.getCarrier();
		Object attribute = (request != null) ? request.getAttribute(InboundScope.ATTRIBUTE) : null;
		InboundScope scope = (attribute instanceof InboundScope inbound) ? inbound : null;
		HangupKind kind = (scope != null) ? InboundScopes.kind(scope) : null;
		HangupObservations.tag(context, kind);
		HangupObservations.boundMethod(context);
		if (scope != null && kind != null && kind != HangupKind.CLIENT_CANCEL
				&& InboundScopes.phase(scope) == HangupPhase.DURING_RESPONSE) {
			// The status went out before the body was cut: what the client got is no
			// success.
			context.addLowCardinalityKeyValue(Outcome.UNKNOWN.asKeyValue());
		}
		if (kind == HangupKind.CLIENT_CANCEL && this.clientClosedStatus != null) {
			context.addLowCardinalityKeyValue(KeyValue.of("status", String.valueOf(this.clientClosedStatus)));
			context.addLowCardinalityKeyValue(Outcome.CLIENT_ERROR.asKeyValue());
		}
		return context;
	}

}
