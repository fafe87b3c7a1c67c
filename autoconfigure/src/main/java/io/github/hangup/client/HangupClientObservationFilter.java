package io.github.hangup.client;

import io.github.hangup.HangupClassifier;
import io.github.hangup.HangupKind;
import io.github.hangup.HangupObservations;
import io.github.hangup.HangupSide;
import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationFilter;

import org.springframework.web.reactive.function.client.ClientRequestObservationContext;

/**
 * Adds the {@code hangup} key to {@code http.client.requests} observations.
 *
 * @since 0.1.0
 */
public final class HangupClientObservationFilter implements ObservationFilter {

	private final HangupClassifier classifier;

	/**
	 * Create a filter.
	 * @param classifier classifies errors of calls that did not go through the Hangup
	 * filter
	 */
	public HangupClientObservationFilter(HangupClassifier classifier) {
		this.classifier = classifier;
	}

	@Override
	public Observation.Context map(Observation.Context context) {
		if (!(context instanceof ClientRequestObservationContext client)) {
			return context;
		}
		OutboundCall call = client.get(OutboundCall.class);
		HangupKind kind = (call != null) ? call.observedKind(client.isAborted()) : null;
		if (kind == null && call == null && client.getError() != null) {
			kind = this.classifier.classify(client.getError(), HangupSide.OUTBOUND);
		}
		HangupObservations.tag(context, kind);
		HangupObservations.boundMethod(context);
		return context;
	}

}
