package io.github.hangup.gateway;

import reactor.netty.http.client.HttpClient;

import org.springframework.cloud.gateway.config.HttpClientCustomizer;

/**
 * Customizes Gateway's {@code HttpClient} so that a call learns when its request went out
 * in full: a reply Netty's decoder then cannot parse is the upstream's fault
 * ({@link io.github.hangup.HangupKind#UPSTREAM_PROTOCOL_ERROR}), not this proxy's.
 *
 * @since 0.2.0
 */
public final class HangupHttpClientCustomizer implements HttpClientCustomizer {

	@Override
	public HttpClient customize(HttpClient httpClient) {
		return httpClient.doAfterRequest((request, connection) -> HangupGatewayFilter.requestSent(request.currentContextView()));
	}

}
