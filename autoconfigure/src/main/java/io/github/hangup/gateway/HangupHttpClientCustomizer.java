package io.github.hangup.gateway;

import reactor.netty.http.client.HttpClient;

import org.springframework.cloud.gateway.config.HttpClientCustomizer;

/**
 * Customizes Gateway's {@code HttpClient} so that a call learns when its request starts
 * to go out on a connection: a reply Netty's decoder cannot parse after that is the
 * upstream's fault ({@link io.github.hangup.HangupKind#UPSTREAM_PROTOCOL_ERROR}), not
 * this proxy's. Not once the request went out in full: an upstream may answer as soon as
 * it has the request's head, while Gateway still streams the body from the client. The
 * call also learns whether the connection is new or reused, which tells a stale
 * keep-alive connection.
 *
 * @since 0.2.0
 */
public final class HangupHttpClientCustomizer implements HttpClientCustomizer {

	@Override
	public HttpClient customize(HttpClient httpClient) {
		return httpClient.doOnRequest(
				(request, connection) -> HangupGatewayFilter.requestStarted(request.currentContextView(), connection));
	}

}
