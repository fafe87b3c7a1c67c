package io.github.hangup.server;

import io.github.hangup.HangupKind;
import io.github.hangup.HangupObservations;
import io.github.hangup.HangupPhase;
import io.micrometer.common.KeyValue;
import io.micrometer.core.instrument.binder.http.Outcome;
import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationFilter;
import org.jspecify.annotations.Nullable;

import org.springframework.http.HttpStatusCode;
import org.springframework.http.server.reactive.ServerHttpRequest;
import org.springframework.http.server.reactive.ServerHttpResponse;
import org.springframework.http.server.reactive.observation.ServerRequestObservationContext;

/**
 * Adds the {@code hangup} key to {@code http.server.requests} observations and, when
 * configured, records client-cancelled requests with a status of their own (nginx uses
 * 499) instead of {@code UNKNOWN}.
 *
 * @since 0.1.0
 */
public final class HangupServerObservationFilter implements ObservationFilter {

	private final @Nullable Integer clientClosedStatus;

	/**
	 * Create a filter.
	 * @param clientClosedStatus status recorded for requests whose client left, or
	 * {@code null} to keep WebFlux's {@code UNKNOWN}
	 */
	public HangupServerObservationFilter(@Nullable Integer clientClosedStatus) {
		this.clientClosedStatus = clientClosedStatus;
	}

	@Override
	public Observation.Context map(Observation.Context context) {
		if (!(context instanceof ServerRequestObservationContext server)) {
			return context;
		}
		InboundScope scope = (InboundScope) server.getAttributes().get(InboundScope.ATTRIBUTE);
		HangupKind kind = (scope != null) ? scope.kind() : null;
		if (kind == null && server.isConnectionAborted()) {
			// The web filter decided, as the server aborted the request, whether its
			// client left (see HangupWebFilter.watchAborts): read that decision, do not
			// make it.
			if (scope != null && (isResponseComplete(server, scope) || scope.isClosed())) {
				// Reactor Netty may cancel a request whose response it already sent in
				// full; WebFlux records that as UNKNOWN. Record what the client really
				// got.
				recordSentStatus(server);
			}
			else {
				// WebFlux stops the observation on a cancel before the cancel reaches our
				// filter: the client is leaving, unless the server closed the request.
				kind = (scope != null && scope.isClientGone()) ? scope.goneKind() : HangupKind.CLIENT_CANCEL;
			}
		}
		HangupObservations.tag(context, kind);
		HangupObservations.boundMethod(context);
		if (scope != null && kind != null && kind != HangupKind.CLIENT_CANCEL
				&& scope.phase() == HangupPhase.DURING_RESPONSE) {
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

	private static boolean isResponseComplete(ServerRequestObservationContext context, InboundScope scope) {
		ServerHttpRequest request = context.getCarrier();
		ServerHttpResponse response = context.getResponse();
		return request != null && response != null && InboundHangups.isResponseComplete(request, response, scope);
	}

	private static void recordSentStatus(ServerRequestObservationContext context) {
		ServerHttpResponse response = context.getResponse();
		HttpStatusCode status = (response != null) ? response.getStatusCode() : null;
		if (status == null) {
			return;
		}
		context.addLowCardinalityKeyValue(KeyValue.of("status", String.valueOf(status.value())));
		context.addLowCardinalityKeyValue(Outcome.forStatus(status.value()).asKeyValue());
	}

}
