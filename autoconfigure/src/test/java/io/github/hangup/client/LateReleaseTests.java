package io.github.hangup.client;

import java.time.Duration;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import io.netty.channel.Channel;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.netty.Connection;
import reactor.netty.DisposableServer;
import reactor.netty.http.client.HttpClient;
import reactor.netty.http.server.HttpServer;
import reactor.netty.resources.ConnectionProvider;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Tests for a call's release of its pooled connection that comes once the pool handed the
 * connection to another call, on a real keep-alive upstream and a pool of one connection.
 */
class LateReleaseTests {

	private static final Duration MAX_IDLE = Duration.ofMillis(100);

	private final Sinks.Empty<Void> finish = Sinks.empty();

	private final Set<Object> idle = ConcurrentHashMap.newKeySet();

	private DisposableServer upstream;

	private ConnectionProvider pool;

	private HttpClient client;

	@BeforeEach
	void start() {
		this.upstream = HttpServer.create()
			.host("127.0.0.1")
			.port(0)
			.route((routes) -> routes.get("/fast", (request, response) -> response.sendString(Mono.just("fast")))
				.get("/slow",
						(request, response) -> response.sendString(
								Flux.concat(Mono.just("first-"), this.finish.asMono().then(Mono.just("last"))))))
			.bindNow();
		this.pool = ConnectionProvider.builder("late-release").maxConnections(1).build();
		this.client = HttpClient.create(this.pool).baseUrl("http://127.0.0.1:" + this.upstream.port());
	}

	@AfterEach
	void stop() {
		this.finish.tryEmitEmpty();
		this.pool.disposeLater().block(Duration.ofSeconds(10));
		this.upstream.disposeNow();
	}

	@Test
	void lateReleaseOfAFinishedCallDoesNotCloseTheConnectionUnderTheNextCall() throws Exception {
		AtomicReference<Channel> firstChannel = new AtomicReference<>();
		Connection first = this.client.get().uri("/fast").responseConnection((response, connection) -> {
			PooledConnections.acquired(connection);
			firstChannel.set(connection.channel());
			return connection.inbound().receive().aggregate().asString().map((body) -> connection);
		}).single().block(Duration.ofSeconds(10));
		assertThat(first).isNotNull();
		// The first call's body is read, its connection back in the pool; its release,
		// sent from another thread while the call still had the channel, has not run yet.
		AtomicReference<Connection> second = new AtomicReference<>();
		CompletableFuture<String> secondBody = this.client.get()
			.uri("/slow")
			.responseConnection((response, connection) -> {
				PooledConnections.acquired(connection);
				second.set(connection);
				return connection.inbound().receive().aggregate().asString();
			})
			.single()
			.toFuture();
		await().atMost(Duration.ofSeconds(10)).until(() -> second.get() != null);
		Channel channel = second.get().channel();
		assertThat(channel).as("the pool's one connection").isSameAs(firstChannel.get());

		ConnectionUse.released(channel, first, null, MAX_IDLE, this.idle);
		// The release runs on the connection's event loop; a marker scheduled there after
		// it, for twice the idle limit, runs after any idle timer the release armed.
		channel.eventLoop().submit(() -> {
		}).get(10, TimeUnit.SECONDS);
		channel.eventLoop().schedule(() -> {
		}, MAX_IDLE.toNanos() * 2, TimeUnit.NANOSECONDS).get(10, TimeUnit.SECONDS);

		assertThat(channel.isActive()).as("the second call's connection").isTrue();
		assertThat(this.idle).isEmpty();
		this.finish.tryEmitEmpty();
		assertThat(secondBody.get(10, TimeUnit.SECONDS)).isEqualTo("first-last");
	}

	@Test
	void releaseOfAFinishedCallStillClosesItsConnectionOnceIdleForTheLimit() throws Exception {
		AtomicReference<Channel> channel = new AtomicReference<>();
		this.client.get().uri("/fast").responseConnection((response, connection) -> {
			PooledConnections.acquired(connection);
			channel.set(connection.channel());
			return connection.inbound()
				.receive()
				.aggregate()
				.asString()
				.doOnNext((body) -> PooledConnections.released(connection, "timeout=60", MAX_IDLE, this.idle));
		}).single().block(Duration.ofSeconds(10));
		assertThat(this.idle).containsExactly(channel.get());
		await().atMost(Duration.ofSeconds(10)).until(() -> !channel.get().isOpen());
		assertThat(this.idle).isEmpty();
	}

}
