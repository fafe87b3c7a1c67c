package io.github.hangup.sample.demo;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.function.BiFunction;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.QueryStringDecoder;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.netty.http.server.HttpServerRequest;
import reactor.netty.http.server.HttpServerResponse;

/**
 * Endpoints of the demo upstream. Each misbehaves in one well-defined way; the index at
 * {@code /} lists them.
 */
final class DemoEndpoints implements BiFunction<HttpServerRequest, HttpServerResponse, Publisher<Void>> {

	static final String INDEX = """
			Hangup demo upstream: endpoints that misbehave on purpose.

			  /ok                             200 with a short text body
			  /slow?ms=5000                   answers after ms milliseconds (at most 120000)
			  /stream?chunks=10&interval=500  chunked text without Content-Length, one line per chunk
			  /sse?count=10&interval=1000     text/event-stream, one event every interval ms
			  /hangup                         reads the request, then closes the connection without a byte
			  /reset-mid-body                 promises 1000 bytes, sends 100, then resets the connection
			""";

	static final int RESET_CONTENT_LENGTH = 1000;

	static final int RESET_SENT_BYTES = 100;

	private static final String TEXT_PLAIN = "text/plain;charset=utf-8";

	@Override
	public Publisher<Void> apply(HttpServerRequest request, HttpServerResponse response) {
		QueryStringDecoder uri = new QueryStringDecoder(request.uri());
		return switch (uri.path()) {
			case "/" -> text(response, INDEX);
			case "/ok" -> text(response, "ok\n");
			case "/slow" -> slow(response, param(uri, "ms", 5000, 120_000));
			case "/stream" -> stream(response, param(uri, "chunks", 10, 10_000), param(uri, "interval", 500, 60_000));
			case "/sse" -> sse(response, param(uri, "count", 10, 10_000), param(uri, "interval", 1000, 60_000));
			case "/hangup" -> request.receive().then(Mono.defer(() -> close(response, false)));
			case "/reset-mid-body" -> resetMidBody(response);
			default -> text(response.status(HttpResponseStatus.NOT_FOUND), "No such demo endpoint; see /\n");
		};
	}

	// An explicit length keeps HEAD answers honest too.
	private static Publisher<Void> text(HttpServerResponse response, String body) {
		byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
		return response.header(HttpHeaderNames.CONTENT_TYPE, TEXT_PLAIN)
			.header(HttpHeaderNames.CONTENT_LENGTH, String.valueOf(bytes.length))
			.sendByteArray(Mono.just(bytes));
	}

	// Nothing, not even the status line, is sent before the delay is over.
	private static Publisher<Void> slow(HttpServerResponse response, long millis) {
		Mono<String> body = Mono.delay(Duration.ofMillis(millis)).map((tick) -> "answered after " + millis + " ms\n");
		return response.header(HttpHeaderNames.CONTENT_TYPE, TEXT_PLAIN).sendString(body);
	}

	private static Publisher<Void> stream(HttpServerResponse response, long chunks, long interval) {
		Flux<String> lines = ticks(chunks, interval).map((n) -> "chunk " + n + " of " + chunks + "\n");
		return response.header(HttpHeaderNames.CONTENT_TYPE, TEXT_PLAIN).send(utf8(response, lines), (chunk) -> true);
	}

	private static Publisher<Void> sse(HttpServerResponse response, long count, long interval) {
		Flux<String> events = ticks(count, interval)
			.map((n) -> "id: " + n + "\nevent: tick\ndata: tick " + n + " of " + count + "\n\n");
		return response.header(HttpHeaderNames.CONTENT_TYPE, "text/event-stream;charset=utf-8")
			.header(HttpHeaderNames.CACHE_CONTROL, "no-cache")
			.send(utf8(response, events), (event) -> true);
	}

	private static Publisher<Void> resetMidBody(HttpServerResponse response) {
		byte[] partial = "x".repeat(RESET_SENT_BYTES - 1).concat("\n").getBytes(StandardCharsets.US_ASCII);
		return response.header(HttpHeaderNames.CONTENT_TYPE, TEXT_PLAIN)
			.header(HttpHeaderNames.CONTENT_LENGTH, String.valueOf(RESET_CONTENT_LENGTH))
			.send(Flux.just(response.alloc().buffer().writeBytes(partial)), (chunk) -> true)
			// An abortive close throws away bytes still waiting in the send buffer; give
			// the partial body a moment to reach the peer first.
			.then(Mono.delay(Duration.ofMillis(50)).then(Mono.defer(() -> close(response, true))));
	}

	/**
	 * Closes the connection under the response: gracefully (FIN), or abortively (RST) by
	 * turning lingering off first.
	 */
	private static Mono<Void> close(HttpServerResponse response, boolean reset) {
		return Mono.create((sink) -> response.withConnection((connection) -> {
			Channel channel = connection.channel();
			if (reset) {
				channel.config().setOption(ChannelOption.SO_LINGER, 0);
			}
			channel.close().addListener((future) -> sink.success());
		}));
	}

	// One tick at once, then one per interval: 1, 2, ... count.
	private static Flux<Long> ticks(long count, long interval) {
		return Flux.interval(Duration.ZERO, Duration.ofMillis(interval)).take(count).map((tick) -> tick + 1);
	}

	private static Flux<ByteBuf> utf8(HttpServerResponse response, Flux<String> text) {
		return text.map((value) -> ByteBufUtil.writeUtf8(response.alloc(), value));
	}

	// Lenient on purpose: a bad or missing value falls back to the default, then is
	// capped.
	private static long param(QueryStringDecoder uri, String name, long defaultValue, long max) {
		List<String> values = uri.parameters().get(name);
		if (values == null || values.isEmpty()) {
			return defaultValue;
		}
		try {
			return Math.max(0, Math.min(max, Long.parseLong(values.get(0))));
		}
		catch (NumberFormatException ex) {
			return defaultValue;
		}
	}

}
