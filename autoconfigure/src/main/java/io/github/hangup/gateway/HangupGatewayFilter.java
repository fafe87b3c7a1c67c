package io.github.hangup.gateway;

import java.net.URI;

import io.github.hangup.HangupClassifier;
import io.github.hangup.HangupException;
import io.github.hangup.HangupObservations;
import io.github.hangup.HangupRecorder;
import io.github.hangup.server.InboundScope;
import io.github.hangup.client.OutboundCalls;
import io.github.hangup.client.PropagationMode;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.netty.Connection;
import reactor.netty.http.client.HttpClientResponse;
import reactor.util.context.ContextView;

import org.springframework.cloud.gateway.filter.GatewayFilterChain;
import org.springframework.cloud.gateway.filter.GlobalFilter;
import org.springframework.cloud.gateway.filter.NettyRoutingFilter;
import org.springframework.cloud.gateway.route.Route;
import org.springframework.cloud.gateway.support.ServerWebExchangeUtils;
import org.springframework.core.Ordered;
import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.http.HttpHeaders;
import org.springframework.http.server.reactive.ServerHttpRequest;
import org.springframework.http.server.reactive.ServerHttpRequestDecorator;
import org.springframework.web.server.ServerWebExchange;

/**
 * Gateway filter that makes the call of {@link NettyRoutingFilter} an outbound call like
 * a WebClient's, right before it (Gateway calls Reactor Netty's {@code HttpClient}
 * directly, so the WebClient filter never sees it):
 * <ul>
 * <li>records each outbound hang-up once on the route's id: before the response here, in
 * the response body through {@link HangupGatewayResponseFilter};</li>
 * <li>turns Gateway's own response timeout (global or per route), which Gateway answers
 * with a {@code ResponseStatusException}, into an
 * {@link io.github.hangup.UpstreamTimeoutException} so that it is answered and counted as
 * one;</li>
 * <li>rejects a reply whose status is outside 200-599 instead of relaying it;</li>
 * <li>joins the call to the inbound request's scope, so that a client leaving stops it
 * and counts it as cancelled.</li>
 * </ul>
 * Each subscription is one call: a {@code Retry} filter's every attempt is counted.
 *
 * @since 0.2.0
 */
public final class HangupGatewayFilter implements GlobalFilter, Ordered {

	/**
	 * Order of this filter: right before Gateway's {@link NettyRoutingFilter}.
	 */
	public static final int ORDER = NettyRoutingFilter.ORDER - 1;

	/** Exchange attribute holding the exchange's current (latest) call. */
	static final String CALL_ATTRIBUTE = GatewayCall.class.getName();

	private final HangupClassifier classifier;

	private final HangupRecorder recorder;

	private final PropagationMode propagation;

	private final OutboundCalls calls;

	private final boolean retryStaleConnections;

	/**
	 * Create a filter.
	 * @param classifier decides which errors are hang-ups
	 * @param recorder receives the hang-ups
	 * @param propagation how far a client leaving reaches into the proxied call
	 */
	public HangupGatewayFilter(HangupClassifier classifier, HangupRecorder recorder, PropagationMode propagation) {
		this(classifier, recorder, propagation, new OutboundCalls(), true);
	}

	/**
	 * Create a filter.
	 * @param classifier decides which errors are hang-ups
	 * @param recorder receives the hang-ups
	 * @param propagation how far a client leaving reaches into the proxied call
	 * @param calls counts the proxied calls in flight, with those of other integrations
	 * @param retryStaleConnections whether a replayable call that failed on a stale
	 * pooled connection goes again, on a route without Gateway's own {@code Retry} filter
	 * @since 0.3.0
	 */
	public HangupGatewayFilter(HangupClassifier classifier, HangupRecorder recorder, PropagationMode propagation,
			OutboundCalls calls, boolean retryStaleConnections) {
		this.classifier = classifier;
		this.recorder = recorder;
		this.propagation = propagation;
		this.calls = calls;
		this.retryStaleConnections = retryStaleConnections;
	}

	@Override
	public Mono<Void> filter(ServerWebExchange exchange, GatewayFilterChain chain) {
		URI url = exchange.getAttribute(ServerWebExchangeUtils.GATEWAY_REQUEST_URL_ATTR);
		if (url == null || ServerWebExchangeUtils.isAlreadyRouted(exchange)
				|| !("http".equalsIgnoreCase(url.getScheme()) || "https".equalsIgnoreCase(url.getScheme()))) {
			// Not a call NettyRoutingFilter makes.
			return chain.filter(exchange);
		}
		String upstream = upstream(exchange, url);
		// Each subscription is one call, with the subscriber's context.
		return Mono.deferContextual((context) -> route(exchange, chain, upstream, context));
	}

	private Mono<Void> route(ServerWebExchange exchange, GatewayFilterChain chain, String upstream,
			ContextView context) {
		GatewayCall call = new GatewayCall(this.classifier, this.recorder,
				HangupObservations.method(exchange.getRequest().getMethod().name()), upstream, scope(exchange, context),
				this.propagation == PropagationMode.REQUEST, () -> ServerWebExchangeUtils.isAlreadyRouted(exchange),
				this.calls);
		Object previous = exchange.getAttributes().put(CALL_ATTRIBUTE, call);
		if (previous instanceof GatewayCall replaced) {
			// A retry: the attempt before ended without its body being read.
			replaced.finished();
		}
		HangupException refused = call.join();
		if (refused != null) {
			return Mono.error(refused);
		}
		ServerWebExchange watched = watchRequestBody(exchange, call);
		Mono<Void> routed;
		try {
			routed = chain.filter(watched);
		}
		catch (Throwable ex) {
			call.finished();
			return Mono.error(ex);
		}
		if (this.retryStaleConnections && !StaleAttempts.hasRetryFilter(exchange)) {
			routed = StaleAttempts.retryIfStale(routed, call, chain, watched);
		}
		return routed.doOnSubscribe(call::subscribed)
			.onErrorMap((error) -> call.failed(error, call.phase()))
			.then(Mono.defer(() -> responded(exchange, call)))
			// Recorded before the cancel travels upstream.
			.doOnCancel(() -> call.cancelled(call.phase()))
			// For the HttpClient's hooks (HangupHttpClientCustomizer) to find the call.
			.contextWrite((routing) -> routing.put(GatewayCall.class, call));
	}

	/**
	 * Gateway's routing completed: the call is over when there is no response to read,
	 * failed when the response is no answer that may be relayed.
	 */
	private static Mono<Void> responded(ServerWebExchange exchange, GatewayCall call) {
		Connection connection = exchange.getAttribute(ServerWebExchangeUtils.CLIENT_RESPONSE_CONN_ATTR);
		if (connection == null) {
			// Not routed after all.
			call.finished();
			return Mono.empty();
		}
		call.responded(connection);
		HttpClientResponse response = exchange.getAttribute(ServerWebExchangeUtils.CLIENT_RESPONSE_ATTR);
		int status = (response != null) ? response.status().code() : 200;
		if (status < 200 || status > 599) {
			// Not a status HTTP knows, or a 1xx although no switch was asked for:
			// relayed, it would reach the client as "999 Unknown" or a switch.
			return Mono.error(call.rejected(new IllegalArgumentException("Upstream status " + status
					+ ((status < 100 || status > 599) ? " is outside 100-599" : " is not a final response"))));
		}
		return Mono.empty();
	}

	/**
	 * The route's id: what an operator calls the upstream, and a bounded set.
	 */
	private static String upstream(ServerWebExchange exchange, URI url) {
		Route route = exchange.getAttribute(ServerWebExchangeUtils.GATEWAY_ROUTE_ATTR);
		if (route != null) {
			return route.getId();
		}
		int port = url.getPort();
		if (port == -1) {
			port = "https".equalsIgnoreCase(url.getScheme()) ? 443 : 80;
		}
		return ((url.getHost() != null) ? url.getHost() : "unknown") + ":" + port;
	}

	private @Nullable InboundScope scope(ServerWebExchange exchange, ContextView context) {
		if (this.propagation == PropagationMode.OFF) {
			return null;
		}
		InboundScope scope = InboundScope.from(context);
		return (scope != null) ? scope : exchange.getAttribute(InboundScope.ATTRIBUTE);
	}

	/**
	 * The request of the call subscribed with this context starts to go out on a
	 * connection.
	 */
	static void requestStarted(ContextView context, Object connection) {
		GatewayCall call = context.getOrDefault(GatewayCall.class, null);
		if (call != null) {
			call.requestStarted(connection);
		}
	}

	/**
	 * A request body streamed from the inbound client that fails is the client's doing,
	 * whatever error of the upstream connection follows.
	 */
	private static ServerWebExchange watchRequestBody(ServerWebExchange exchange, GatewayCall call) {
		HttpHeaders headers = exchange.getRequest().getHeaders();
		if (headers.getContentLength() <= 0 && !headers.containsHeader(HttpHeaders.TRANSFER_ENCODING)) {
			return exchange;
		}
		ServerHttpRequest watched = new ServerHttpRequestDecorator(exchange.getRequest()) {

			@Override
			public Flux<DataBuffer> getBody() {
				return super.getBody().doOnError(call::requestBodyFailed);
			}

		};
		return exchange.mutate().request(watched).build();
	}

	@Override
	public int getOrder() {
		return ORDER;
	}

}
