package io.github.hangup.server;

import java.io.File;
import java.nio.file.Path;

import org.jspecify.annotations.Nullable;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.http.ZeroCopyHttpOutputMessage;
import org.springframework.http.server.reactive.ServerHttpResponse;
import org.springframework.http.server.reactive.ServerHttpResponseDecorator;

/**
 * Counts the body bytes of a response, so that a client closing its connection right
 * after a complete response is not taken for a client that left; holds the request's
 * {@link InboundScope} for the web filter, which finds it by {@link #find}.
 */
class CountingResponse extends ServerHttpResponseDecorator {

	private final InboundScope scope;

	CountingResponse(ServerHttpResponse delegate, InboundScope scope) {
		super(delegate);
		this.scope = scope;
	}

	static ServerHttpResponse of(ServerHttpResponse delegate, InboundScope scope) {
		// Keep zero-copy file transfers available to resource handlers.
		return (delegate instanceof ZeroCopyHttpOutputMessage) ? new ZeroCopy(delegate, scope)
				: new CountingResponse(delegate, scope);
	}

	@Override
	public Mono<Void> writeWith(Publisher<? extends DataBuffer> body) {
		// A Mono body stays a Mono: the server writes it with a Content-Length.
		Publisher<? extends DataBuffer> counted = (body instanceof Mono<? extends DataBuffer> mono)
				? mono.doOnNext(this::count) : Flux.from(body).doOnNext(this::count);
		return super.writeWith(counted);
	}

	@Override
	public Mono<Void> writeAndFlushWith(Publisher<? extends Publisher<? extends DataBuffer>> body) {
		return super.writeAndFlushWith(Flux.from(body).map((chunk) -> Flux.from(chunk).doOnNext(this::count)));
	}

	InboundScope scope() {
		return this.scope;
	}

	/**
	 * The counting response under {@code response} and the decorators around it, if any.
	 */
	static @Nullable CountingResponse find(ServerHttpResponse response) {
		ServerHttpResponse current = response;
		for (int depth = 0; depth < 8; depth++) {
			if (current instanceof CountingResponse counting) {
				return counting;
			}
			if (!(current instanceof ServerHttpResponseDecorator decorator)) {
				return null;
			}
			current = decorator.getDelegate();
		}
		return null;
	}

	private void count(DataBuffer buffer) {
		this.scope.wrote(buffer.readableByteCount());
	}

	void countFile(long bytes) {
		this.scope.wrote(bytes);
	}

	/**
	 * The same, for a server that can send files without copying them.
	 */
	static final class ZeroCopy extends CountingResponse implements ZeroCopyHttpOutputMessage {

		ZeroCopy(ServerHttpResponse delegate, InboundScope scope) {
			super(delegate, scope);
		}

		@Override
		public Mono<Void> writeWith(File file, long position, long count) {
			countFile(count);
			return ((ZeroCopyHttpOutputMessage) getDelegate()).writeWith(file, position, count);
		}

		@Override
		public Mono<Void> writeWith(Path file, long position, long count) {
			countFile(count);
			return ((ZeroCopyHttpOutputMessage) getDelegate()).writeWith(file, position, count);
		}

	}

}
