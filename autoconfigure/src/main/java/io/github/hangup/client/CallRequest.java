package io.github.hangup.client;

import java.net.URI;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;

import org.reactivestreams.Publisher;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpMethod;
import org.springframework.http.client.reactive.ClientHttpRequest;
import org.springframework.http.client.reactive.ClientHttpRequestDecorator;
import org.springframework.util.MultiValueMap;
import org.springframework.web.reactive.function.BodyInserter;
import org.springframework.web.reactive.function.BodyInserters;
import org.springframework.web.reactive.function.client.ClientRequest;
import org.springframework.web.reactive.function.client.ExchangeStrategies;

/**
 * The request as sent: arms the response timeout when it is written, counting once it is
 * sent, and watches its body's own source, whose failure is not the upstream's. A view
 * rather than {@code ClientRequest.from(request)}, which copies headers, cookies and
 * attributes.
 */
final class CallRequest implements ClientRequest {

	private final ClientRequest request;

	private final OutboundCall call;

	CallRequest(ClientRequest request, OutboundCall call) {
		this.request = request;
		this.call = call;
	}

	@Override
	public HttpMethod method() {
		return this.request.method();
	}

	@Override
	public URI url() {
		return this.request.url();
	}

	@Override
	public HttpHeaders headers() {
		return this.request.headers();
	}

	@Override
	public MultiValueMap<String, String> cookies() {
		return this.request.cookies();
	}

	@Override
	public BodyInserter<?, ? super ClientHttpRequest> body() {
		return this.request.body();
	}

	@Override
	public Optional<Object> attribute(String name) {
		return this.request.attribute(name);
	}

	@Override
	public Map<String, Object> attributes() {
		return this.request.attributes();
	}

	@Override
	public Consumer<ClientHttpRequest> httpRequest() {
		// A filter further down may copy this request with ClientRequest.from(), and the
		// copy writes itself: the timeout then counts from when the writing starts.
		Consumer<ClientHttpRequest> arm = (httpRequest) -> {
			this.call.connected(httpRequest);
			this.call.timeout().arm(httpRequest, true);
		};
		Consumer<ClientHttpRequest> own = this.request.httpRequest();
		return (own != null) ? arm.andThen(own) : arm;
	}

	@Override
	public String logPrefix() {
		return this.request.logPrefix();
	}

	@Override
	public Mono<Void> writeTo(ClientHttpRequest httpRequest, ExchangeStrategies strategies) {
		this.call.connected(httpRequest);
		ResponseTimeout timeout = this.call.timeout();
		timeout.arm(httpRequest, false);
		ClientHttpRequest watched = (this.request.body() != BodyInserters.empty())
				? new BodyWatchingRequest(httpRequest, this.call) : httpRequest;
		return this.request.writeTo(watched, strategies).doOnSuccess((ignored) -> timeout.requestSent());
	}

	/**
	 * Sees the request body's source fail before the connector turns that into a failed
	 * exchange that looks like the upstream's.
	 */
	private static final class BodyWatchingRequest extends ClientHttpRequestDecorator {

		private final OutboundCall call;

		BodyWatchingRequest(ClientHttpRequest delegate, OutboundCall call) {
			super(delegate);
			this.call = call;
		}

		@Override
		public Mono<Void> writeWith(Publisher<? extends DataBuffer> body) {
			// A Mono body stays a Mono: the connector sends it with a Content-Length.
			Publisher<? extends DataBuffer> watched = (body instanceof Mono<? extends DataBuffer> mono)
					? mono.doOnError(this.call::requestBodyFailed)
					: Flux.from(body).doOnError(this.call::requestBodyFailed);
			return super.writeWith(watched);
		}

		@Override
		public Mono<Void> writeAndFlushWith(Publisher<? extends Publisher<? extends DataBuffer>> body) {
			return super.writeAndFlushWith(Flux.from(body)
				.map((chunk) -> Flux.from(chunk).doOnError(this.call::requestBodyFailed))
				.doOnError(this.call::requestBodyFailed));
		}

	}

}
