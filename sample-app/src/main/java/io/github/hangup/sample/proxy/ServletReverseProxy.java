package io.github.hangup.sample.proxy;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

import jakarta.servlet.http.HttpServletResponse;

import org.springframework.http.HttpHeaders;
import org.springframework.http.client.ClientHttpResponse;
import org.springframework.http.server.ServletServerHttpResponse;
import org.springframework.web.client.RestClient;
import org.springframework.web.servlet.function.ServerRequest;

/**
 * Forwards one request to its upstream with a blocking {@link RestClient} and relays the
 * answer back as it arrives, without buffering either body: the Spring MVC twin of
 * {@link ReverseProxy}.
 * <p>
 * Upstream failures are left as exceptions, as there: before the answer they reach MVC's
 * exception handling, which answers them; once the answer is flowing, the response is
 * cut.
 */
final class ServletReverseProxy {

	private static final int BUFFER_SIZE = 8192;

	private final RestClient restClient;

	private final RouteTable routes;

	ServletReverseProxy(RestClient restClient, RouteTable routes) {
		this.restClient = restClient;
		this.routes = routes;
	}

	void forward(ServerRequest request, HttpServletResponse servletResponse) throws IOException {
		HttpHeaders requestHeaders = request.headers().asHttpHeaders();
		RestClient.RequestBodySpec upstreamRequest = this.restClient.method(request.method())
			.uri(this.routes.target(request.uri()))
			.headers((headers) -> ReverseProxy.copyEndToEnd(requestHeaders, headers, true));
		if (ReverseProxy.hasBody(requestHeaders)) {
			InputStream body = request.servletRequest().getInputStream();
			upstreamRequest.body(body::transferTo);
		}
		upstreamRequest.exchange((clientRequest, upstream) -> relay(upstream, servletResponse));
	}

	private static boolean relay(ClientHttpResponse upstream, HttpServletResponse servletResponse) throws IOException {
		ServletServerHttpResponse response = new ServletServerHttpResponse(servletResponse);
		response.setStatusCode(upstream.getStatusCode());
		ReverseProxy.copyEndToEnd(upstream.getHeaders(), response.getHeaders(), false);
		boolean live = ReverseProxy.isLive(response.getHeaders());
		OutputStream out = response.getBody();
		if (live) {
			// The client may be waiting for the head before any event.
			response.flush();
		}
		try (InputStream in = upstream.getBody()) {
			if (live) {
				relayLive(in, out, response);
			}
			else {
				in.transferTo(out);
			}
		}
		return true;
	}

	/**
	 * Relays each piece as it arrives and flushes it on its own: the client may be
	 * waiting for this very event. A read into a large buffer may wait to fill it (the
	 * JDK client's body does), so this waits for one byte only, then takes what is
	 * already there. Flushed through the response, as the body stream (since Spring
	 * Framework 7) ignores flush().
	 */
	private static void relayLive(InputStream in, OutputStream out, ServletServerHttpResponse response)
			throws IOException {
		byte[] buffer = new byte[BUFFER_SIZE];
		int first;
		while ((first = in.read()) != -1) {
			out.write(first);
			int available;
			while ((available = Math.min(in.available(), buffer.length)) > 0) {
				int read = in.read(buffer, 0, available);
				if (read < 0) {
					break;
				}
				out.write(buffer, 0, read);
			}
			response.flush();
		}
	}

}
