package io.github.hangup.metrics;

import io.github.hangup.client.HangupExchangeFilterFunction;
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

	private final @Nullable HangupExchangeFilterFunction client;

	private final @Nullable HangupWebFilter server;

	/**
	 * Create the binder.
	 * @param client the outbound filter, or {@code null} when not installed
	 * @param server the inbound filter, or {@code null} when not installed
	 */
	public InFlightMetrics(@Nullable HangupExchangeFilterFunction client, @Nullable HangupWebFilter server) {
		this.client = client;
		this.server = server;
	}

	@Override
	public void bindTo(MeterRegistry registry) {
		if (this.client != null) {
			Gauge.builder(HangupMetrics.CLIENT_CALLS_ACTIVE, this.client, HangupExchangeFilterFunction::inFlight)
				.description("Outbound calls through the Hangup filter that started and have not ended")
				.register(registry);
		}
		if (this.server != null) {
			Gauge.builder(HangupMetrics.SERVER_SCOPES_ACTIVE, this.server, HangupWebFilter::openScopes)
				.description("Inbound requests currently processed under a cancellation scope")
				.register(registry);
		}
	}

}
