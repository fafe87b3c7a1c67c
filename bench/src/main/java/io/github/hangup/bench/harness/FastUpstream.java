package io.github.hangup.bench.harness;

import java.time.Duration;
import java.util.Arrays;

import reactor.core.publisher.Mono;
import reactor.netty.DisposableServer;
import reactor.netty.http.server.HttpServer;

/**
 * A fast, well-behaved upstream on Reactor Netty: {@code /small} ({@value #SMALL} bytes),
 * {@code /big} ({@value #BIG} bytes) and {@code /delay?ms=N} (the small body after N ms).
 */
public final class FastUpstream implements AutoCloseable {

	public static final int SMALL = 64;

	public static final int BIG = 16 * 1024;

	private static final byte[] SMALL_BODY = fill(SMALL);

	private static final byte[] BIG_BODY = fill(BIG);

	private final DisposableServer server;

	public FastUpstream() {
		this.server = HttpServer.create()
			.host("127.0.0.1")
			.port(0)
			.route((routes) -> routes
				.get("/small",
						(request, response) -> response.header("Content-Type", "application/octet-stream")
							.header("Content-Length", Integer.toString(SMALL))
							.sendByteArray(Mono.just(SMALL_BODY)))
				.get("/big",
						(request, response) -> response.header("Content-Type", "application/octet-stream")
							.header("Content-Length", Integer.toString(BIG))
							.sendByteArray(Mono.just(BIG_BODY)))
				.get("/delay", (request, response) -> {
					String query = request.uri().contains("ms=") ? request.uri().replaceAll(".*ms=(\\d+).*", "$1")
							: "50";
					return Mono.delay(Duration.ofMillis(Long.parseLong(query)))
						.then(response.header("Content-Type", "application/octet-stream")
							.header("Content-Length", Integer.toString(SMALL))
							.sendByteArray(Mono.just(SMALL_BODY))
							.then());
				}))
			.bindNow();
	}

	public String url() {
		return "http://127.0.0.1:" + this.server.port();
	}

	@Override
	public void close() {
		this.server.disposeNow();
	}

	private static byte[] fill(int length) {
		byte[] body = new byte[length];
		Arrays.fill(body, (byte) 'x');
		return body;
	}

}
