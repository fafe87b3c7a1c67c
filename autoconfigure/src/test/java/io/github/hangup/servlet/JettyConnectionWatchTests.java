package io.github.hangup.servlet;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The watch of Jetty's connections, on real loopback connections: a client that closes or
 * resets its connection is found gone, bytes it sends ahead are left to read, and
 * readiness that came from the request's own body is never taken for its end.
 */
class JettyConnectionWatchTests {

	private static final Duration DEADLINE = Duration.ofSeconds(10);

	private final JettyConnectionWatch watch = new JettyConnectionWatch();

	private ServerSocketChannel server;

	private Socket client;

	private SocketChannel channel;

	@BeforeEach
	void connect() throws IOException {
		this.server = ServerSocketChannel.open().bind(new InetSocketAddress("127.0.0.1", 0));
		this.client = new Socket("127.0.0.1", ((InetSocketAddress) this.server.getLocalAddress()).getPort());
		this.channel = this.server.accept();
		this.channel.configureBlocking(false);
	}

	@AfterEach
	void close() throws IOException {
		this.watch.stop();
		this.client.close();
		this.channel.close();
		this.server.close();
	}

	@Test
	void clientClosingItsConnectionIsFoundGone() throws Exception {
		CountDownLatch gone = new CountDownLatch(1);
		assertThat(this.watch.watch(this.channel, () -> true, () -> true, gone::countDown)).isNotNull();
		this.client.shutdownOutput();
		assertThat(gone.await(DEADLINE.toMillis(), TimeUnit.MILLISECONDS)).isTrue();
	}

	@Test
	void clientResettingItsConnectionIsFoundGone() throws Exception {
		CountDownLatch gone = new CountDownLatch(1);
		assertThat(this.watch.watch(this.channel, () -> true, () -> true, gone::countDown)).isNotNull();
		this.client.setSoLinger(true, 0);
		this.client.close();
		assertThat(gone.await(DEADLINE.toMillis(), TimeUnit.MILLISECONDS)).isTrue();
	}

	@Test
	void connectionOfARequestNotWaitingIsNotLookedAt() throws Exception {
		AtomicInteger asked = new AtomicInteger();
		AtomicBoolean gone = new AtomicBoolean();
		this.watch.watch(this.channel, () -> true, () -> {
			asked.incrementAndGet();
			return false;
		}, () -> gone.set(true));
		this.client.shutdownOutput();
		await().atMost(DEADLINE).until(() -> asked.get() > 3);
		assertThat(gone).isFalse();
	}

	@Test
	void bytesSentAheadAreLeftToReadAndEndTheWatch() throws Exception {
		AtomicInteger asked = new AtomicInteger();
		AtomicBoolean gone = new AtomicBoolean();
		this.watch.watch(this.channel, () -> true, () -> asked.incrementAndGet() > 0, () -> gone.set(true));
		this.client.getOutputStream().write('G');
		await().atMost(DEADLINE).until(() -> asked.get() > 0);
		// Ended: no look follows, not even once the client closes.
		this.client.shutdownOutput();
		int asks = asked.get();
		await().during(JettyConnectionWatch.INTERVAL.multipliedBy(3)).atMost(DEADLINE).until(() -> !gone.get());
		assertThat(asked).hasValue(asks);
		ByteBuffer read = ByteBuffer.allocate(2);
		assertThat(this.channel.read(read)).isEqualTo(1);
		assertThat(read.get(0)).isEqualTo((byte) 'G');
	}

	/**
	 * The request's body makes the connection ready to read; Jetty then reads it, and the
	 * body is read in full, between a selection and the look that follows it. The
	 * connection, with nothing left to read, must not be taken for closed: only a
	 * selection made once the body was read counts.
	 */
	@Test
	void readinessOfTheBodyReadMeanwhileIsNotTakenForTheClientLeaving() throws Exception {
		AtomicBoolean gone = new AtomicBoolean();
		AtomicBoolean bodyRead = new AtomicBoolean();
		AtomicInteger asked = new AtomicInteger();
		this.watch.watch(this.channel, () -> {
			// Asked about the body: Jetty reads it now, if it came.
			if (!bodyRead.get() && readBody()) {
				bodyRead.set(true);
			}
			return bodyRead.get();
		}, () -> asked.incrementAndGet() > 0, () -> gone.set(true));
		this.client.getOutputStream().write("hello".getBytes());
		await().atMost(DEADLINE).untilTrue(bodyRead);
		await().during(JettyConnectionWatch.INTERVAL.multipliedBy(4)).atMost(DEADLINE).until(() -> !gone.get());
		// Still watched: the client's leaving is found.
		this.client.shutdownOutput();
		await().atMost(DEADLINE).untilTrue(gone);
	}

	/**
	 * Most requests never wait on a call: their connection is not registered, which would
	 * cost system calls under the watch's lock, until they do.
	 */
	@Test
	void connectionIsRegisteredOnlyOnceItsRequestWaits() throws Exception {
		AtomicBoolean waiting = new AtomicBoolean();
		AtomicInteger asked = new AtomicInteger();
		CountDownLatch gone = new CountDownLatch(1);
		this.watch.watch(this.channel, () -> true, () -> {
			asked.incrementAndGet();
			return waiting.get();
		}, gone::countDown);
		await().atMost(DEADLINE).until(() -> asked.get() > 2);
		assertThat(this.watch.registered()).isZero();
		waiting.set(true);
		await().atMost(DEADLINE).until(() -> this.watch.registered() == 1);
		this.client.shutdownOutput();
		assertThat(gone.await(DEADLINE.toMillis(), TimeUnit.MILLISECONDS)).isTrue();
	}

	@Test
	void endedWatchLooksNoMore() throws Exception {
		AtomicBoolean gone = new AtomicBoolean();
		JettyConnectionWatch.Watched watched = this.watch.watch(this.channel, () -> true, () -> true,
				() -> gone.set(true));
		assertThat(watched).isNotNull();
		watched.end();
		this.client.shutdownOutput();
		await().during(JettyConnectionWatch.INTERVAL.multipliedBy(3)).atMost(DEADLINE).until(() -> !gone.get());
		// The connection can be watched again (the next request on it).
		CountDownLatch next = new CountDownLatch(1);
		assertThat(this.watch.watch(this.channel, () -> true, () -> true, next::countDown)).isNotNull();
		assertThat(next.await(DEADLINE.toMillis(), TimeUnit.MILLISECONDS)).isTrue();
	}

	private boolean readBody() {
		try {
			ByteBuffer body = ByteBuffer.allocate(5);
			this.channel.read(body);
			return body.position() == 5;
		}
		catch (IOException ex) {
			throw new IllegalStateException(ex);
		}
	}

}
