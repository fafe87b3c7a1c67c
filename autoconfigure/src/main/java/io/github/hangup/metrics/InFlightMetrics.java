package io.github.hangup.metrics;

import io.github.hangup.client.OutboundCalls;
import io.github.hangup.server.HangupWebFilter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import org.jspecify.annotations.Nullable;

/**
 * Gauges of work in flight: outbound calls and inbound scopes. Both return to zero when
 * traffic stops; a value that stays up reveals a leaked call or scope.
 *
 * @since 0.1.0
 */
public final class InFlightMetrics implements MeterBinder {

	private final @Nullable OutboundCalls client;

	private final @Nullable HangupWebFilter server;

	/**
	 * Create the binder.
	 * @param client the outbound calls of every integration, or {@code null} when none is
	 * installed
	 * @param server the inbound filter, or {@code null} when not installed
	 * @since 0.3.0
	 */
	public InFlightMetrics(@Nullable OutboundCalls client, @Nullable HangupWebFilter server) {
		this.client = client;
		this.server = server;
	}

	@Override
	public void bindTo(MeterRegistry registry) {
		if (this.client != null) {
			Gauge.builder(HangupMetrics.CLIENT_CALLS_ACTIVE, this.client, OutboundCalls::inFlight)
				.description("Outbound calls (WebClient's and Spring Cloud Gateway's) that started and have not ended")
				.register(registry);
		}
		if (this.server != null) {
			Gauge.builder(HangupMetrics.SERVER_SCOPES_ACTIVE, this.server, HangupWebFilter::openScopes)
				.description("Inbound requests currently processed under a cancellation scope")
				.register(registry);
		}
	}

}
