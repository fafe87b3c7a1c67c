package io.github.hangup.client.blocking;

import io.github.hangup.HangupClassifier;
import io.github.hangup.HangupKind;
import io.github.hangup.HangupObservations;
import io.github.hangup.HangupSide;
import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationFilter;

import org.springframework.http.client.ClientHttpRequest;
import org.springframework.http.client.observation.ClientRequestObservationContext;

/**
 * Adds the {@code hangup} key to the {@code http.client.requests} observations of
 * {@code RestClient} and {@code RestTemplate}, as {@code HangupClientObservationFilter}
 * does for {@code WebClient}: the kind of the call's hang-up, or {@code NONE}.
 *
 * @since 0.3.0
 */
public final class HangupRestClientObservationFilter implements ObservationFilter {

	private final HangupClassifier classifier;

	/**
	 * Create a filter.
	 * @param classifier classifies errors of calls that did not go through Hangup's
	 * interceptor
	 */
	public HangupRestClientObservationFilter(HangupClassifier classifier) {
		this.classifier = classifier;
	}

	@Override
	public Observation.Context map(Observation.Context context) {
		if (!(context instanceof ClientRequestObservationContext client)) {
			return context;
		}
		ClientHttpRequest request = client.getCarrier();
		BlockingCall call = (request != null) ? HangupClientHttpRequestInterceptor.CallHolder.callOf(request) : null;
		HangupKind kind = (call != null) ? call.observedKind() : null;
		Throwable error = client.getError();
		if (call == null && error != null) {
			kind = this.classifier.classify(error, HangupSide.OUTBOUND);
		}
		HangupObservations.tag(context, kind);
		HangupObservations.boundMethod(context);
		return context;
	}

}
