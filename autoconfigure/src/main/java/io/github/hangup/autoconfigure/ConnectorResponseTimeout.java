package io.github.hangup.autoconfigure;

import java.time.Duration;

import org.jspecify.annotations.Nullable;

import org.springframework.boot.http.client.autoconfigure.reactive.ClientHttpConnectorBuilderCustomizer;
import org.springframework.boot.http.client.reactive.ReactorClientHttpConnectorBuilder;

/**
 * Takes Reactor Netty's response timeout off the connectors built by the
 * {@code ClientHttpConnectorBuilder} that Boot auto-configures, where Boot set it from
 * its read timeout, {@code spring.http.clients.read-timeout}: Hangup's response timeout
 * takes its place. Reactor Netty's is an idle timeout on the connection's reads, and a
 * reader that pauses stops those reads, so it would end a healthy upstream's body;
 * Hangup's waits while the reader asks for nothing. A response timeout of another value
 * (a service group's own read timeout, one set by an {@code HttpClient} customizer)
 * stays, and without Boot's read timeout the builder is left as it is.
 */
final class ConnectorResponseTimeout
		implements ClientHttpConnectorBuilderCustomizer<ReactorClientHttpConnectorBuilder> {

	private final @Nullable Duration bootReadTimeout;

	ConnectorResponseTimeout(@Nullable Duration bootReadTimeout) {
		this.bootReadTimeout = bootReadTimeout;
	}

	@Override
	public ReactorClientHttpConnectorBuilder customize(ReactorClientHttpConnectorBuilder builder) {
		Duration boot = this.bootReadTimeout;
		if (boot == null) {
			return builder;
		}
		// Applied to each client after Boot has mapped its settings onto it; null removes
		// Reactor Netty's response timeout.
		return builder.withHttpClientCustomizer((client) -> boot.equals(client.configuration().responseTimeout())
				? client.responseTimeout(null) : client);
	}

}
