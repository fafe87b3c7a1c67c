package io.github.hangup.server;

import io.github.hangup.HangupKind;
import io.github.hangup.InboundScope;
import reactor.core.publisher.Mono;

import org.springframework.core.Ordered;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.server.WebFilter;
import org.springframework.web.server.WebFilterChain;

/**
 * Opens an {@link InboundScope} for every inbound request and detects the inbound client
 * leaving: the server cancels the request's processing when the connection (or HTTP/2
 * stream) closes before the response completed. Records that once as
 * {@link HangupKind#CLIENT_CANCEL}.
 *
 * @since 0.1.0
 */
public final class HangupWebFilter implements WebFilter, Ordered {

	/**
	 * Order of this filter: early, so that the scope covers the whole request.
	 */
	public static final int ORDER = Ordered.HIGHEST_PRECEDENCE + 10;

	private final InboundHangups hangups;

	/**
	 * Create a filter.
	 * @param hangups records inbound hang-ups
	 */
	public HangupWebFilter(InboundHangups hangups) {
		this.hangups = hangups;
	}

	@Override
	public Mono<Void> filter(ServerWebExchange exchange, WebFilterChain chain) {
		InboundScope scope = new InboundScope();
		exchange.getAttributes().put(InboundScope.ATTRIBUTE, scope);
		return chain.filter(exchange)
			// doOnCancel runs before the cancel travels upstream, so outbound calls cancelled
			// by it already see the client as gone.
			.doOnCancel(() -> this.hangups.clientGone(exchange, scope, null))
			.doOnSuccess((done) -> completed(exchange, scope))
			.doOnError((ex) -> scope.close())
			.contextWrite((context) -> context.put(InboundScope.CONTEXT_KEY, scope));
	}

	private void completed(ServerWebExchange exchange, InboundScope scope) {
		// Reactor Netty completes a streaming write quietly when the client closes the
		// connection mid-body; the response was not finished, so the client left.
		if (Boolean.FALSE.equals(InboundHangups.isConnectionOpen(exchange.getResponse()))) {
			this.hangups.clientGone(exchange, scope, null);
		}
		else {
			scope.close();
		}
	}

	@Override
	public int getOrder() {
		return ORDER;
	}

}
