package io.github.hangup.sample.proxy;

import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;

import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.http.HttpHeaders;
import org.springframework.http.MediaType;
import org.springframework.http.server.reactive.ServerHttpRequest;
import org.springframework.http.server.reactive.ServerHttpResponse;
import org.springframework.web.reactive.function.BodyInserters;
import org.springframework.web.reactive.function.client.ClientResponse;
import org.springframework.web.reactive.function.client.WebClient;
import org.springframework.web.server.ServerWebExchange;

/**
 * Forwards one exchange to its upstream and relays the answer back as it arrives, without
 * buffering either body.
 * <p>
 * Upstream failures are deliberately left as errors: turning them into an HTTP status is
 * the job of the application's exception handlers.
 */
final class ReverseProxy {

	// RFC 9110 section 7.6.1, plus Proxy-Connection, which old clients still send.
	private static final Set<String> HOP_BY_HOP = Set.of("connection", "keep-alive", "proxy-authenticate",
			"proxy-authorization", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade");

	private final WebClient webClient;

	private final RouteTable routes;

	ReverseProxy(WebClient webClient, RouteTable routes) {
		this.webClient = webClient;
		this.routes = routes;
	}

	Mono<Void> forward(ServerWebExchange exchange) {
		ServerHttpRequest request = exchange.getRequest();
		WebClient.RequestBodySpec upstreamRequest = this.webClient.method(request.getMethod())
			.uri(this.routes.target(request.getURI()))
			.headers((headers) -> copyEndToEnd(request.getHeaders(), headers, true));
		WebClient.RequestHeadersSpec<?> ready = hasBody(request.getHeaders())
				? upstreamRequest.body(BodyInserters.fromDataBuffers(request.getBody())) : upstreamRequest;
		return ready.exchangeToMono((upstream) -> relay(upstream, exchange.getResponse()));
	}

	private static Mono<Void> relay(ClientResponse upstream, ServerHttpResponse response) {
		response.setStatusCode(upstream.statusCode());
		copyEndToEnd(upstream.headers().asHttpHeaders(), response.getHeaders(), false);
		Flux<DataBuffer> body = upstream.bodyToFlux(DataBuffer.class);
		if (isLive(response.getHeaders())) {
			// Flush every chunk on its own: the client may be waiting for this very
			// event.
			return response.writeAndFlushWith(body.map(Flux::just));
		}
		return response.writeWith(body);
	}

	// A body without a length may be an open-ended stream; one with a length is a
	// download.
	static boolean isLive(HttpHeaders headers) {
		MediaType contentType = headers.getContentType();
		return headers.getContentLength() < 0
				|| (contentType != null && MediaType.TEXT_EVENT_STREAM.isCompatibleWith(contentType));
	}

	// Sending an empty body would make a GET go out chunked, which some upstreams reject.
	static boolean hasBody(HttpHeaders headers) {
		return headers.getContentLength() > 0 || headers.containsHeader(HttpHeaders.TRANSFER_ENCODING);
	}

	/**
	 * Copies the end-to-end headers: hop-by-hop headers, and those the Connection header
	 * names, describe one connection and must not cross the proxy.
	 */
	static void copyEndToEnd(HttpHeaders from, HttpHeaders to, boolean request) {
		Set<String> connectionScoped = from.getConnection()
			.stream()
			.map((name) -> name.trim().toLowerCase(Locale.ROOT))
			.collect(Collectors.toSet());
		from.forEach((name, values) -> {
			String key = name.toLowerCase(Locale.ROOT);
			// The upstream's own host goes in Host, taken from the target URI.
			boolean skip = HOP_BY_HOP.contains(key) || connectionScoped.contains(key)
					|| (request && key.equals("host"));
			if (!skip) {
				to.put(name, List.copyOf(values));
			}
		});
	}

}
