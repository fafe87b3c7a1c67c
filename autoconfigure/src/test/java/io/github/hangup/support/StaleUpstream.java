package io.github.hangup.support;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A raw-socket HTTP/1.1 upstream with keep-alive connections that go stale: it answers
 * every request {@code 200} and keeps the connection open, but a request that arrives on
 * a connection idle for {@code idleLimit} or more is not answered: the connection is
 * closed (FIN) or reset (RST), as a server whose keep-alive timeout just fired or a load
 * balancer that forgot the flow would do. It says nothing at the idle moment itself, so
 * the client only learns when it reuses the connection.
 * <p>
 * With {@code advertise}, every response carries {@code Keep-Alive: timeout=N} (N the
 * idle limit in whole seconds), as Node and Apache send it.
 */
public final class StaleUpstream implements AutoCloseable {

	/** How a stale connection ends. */
	public enum Ending {

		/** Closed without a response. */
		FIN,

		/** Reset without a response. */
		RST

	}

	private final ServerSocket server;

	private final Duration idleLimit;

	private final Ending ending;

	private final boolean advertise;

	private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();

	private final Map<String, AtomicInteger> received = new ConcurrentHashMap<>();

	private final Map<String, AtomicInteger> answered = new ConcurrentHashMap<>();

	private final AtomicInteger connections = new AtomicInteger();

	private final AtomicInteger killed = new AtomicInteger();

	private final AtomicInteger peerClosed = new AtomicInteger();

	private volatile boolean running = true;

	private volatile Duration staleAnswerDelay = Duration.ZERO;

	private volatile boolean silentAfterStale;

	public StaleUpstream(Duration idleLimit, Ending ending, boolean advertise) throws IOException {
		this.idleLimit = idleLimit;
		this.ending = ending;
		this.advertise = advertise;
		this.server = new ServerSocket(0, 200, InetAddress.getLoopbackAddress());
		Thread acceptor = new Thread(this::accept, "stale-upstream-accept");
		acceptor.setDaemon(true);
		acceptor.start();
	}

	/**
	 * Take this long to close a stale connection after the request that finds it arrives,
	 * as a load balancer that forgot the flow may (its client waits for a while first).
	 */
	public StaleUpstream staleAnswerDelay(Duration delay) {
		this.staleAnswerDelay = delay;
		return this;
	}

	/**
	 * Once a stale connection was dropped, never answer a request again: each waits until
	 * its client gives up.
	 */
	public StaleUpstream silentAfterStale() {
		this.silentAfterStale = true;
		return this;
	}

	public String baseUrl() {
		return "http://127.0.0.1:" + this.server.getLocalPort();
	}

	public int port() {
		return this.server.getLocalPort();
	}

	/** Requests received with a method, answered or not. */
	public int received(String method) {
		AtomicInteger count = this.received.get(method);
		return (count != null) ? count.get() : 0;
	}

	/** Requests answered with a method. */
	public int answered(String method) {
		AtomicInteger count = this.answered.get(method);
		return (count != null) ? count.get() : 0;
	}

	/** TCP connections accepted. */
	public int connections() {
		return this.connections.get();
	}

	/** Connections the client closed while they sat idle after a response. */
	public int peerClosed() {
		return this.peerClosed.get();
	}

	/** Requests that arrived on a stale connection and were not answered. */
	public int killed() {
		return this.killed.get();
	}

	private void accept() {
		while (this.running) {
			try {
				Socket socket = this.server.accept();
				this.connections.incrementAndGet();
				this.sockets.add(socket);
				Thread worker = new Thread(() -> serve(socket), "stale-upstream-conn");
				worker.setDaemon(true);
				worker.start();
			}
			catch (IOException ex) {
				return;
			}
		}
	}

	private void serve(Socket socket) {
		try (socket) {
			InputStream in = socket.getInputStream();
			OutputStream out = socket.getOutputStream();
			long lastAnswered = -1;
			while (this.running) {
				Request request = Request.read(in);
				if (request == null) {
					if (lastAnswered >= 0) {
						this.peerClosed.incrementAndGet();
					}
					return;
				}
				this.received.computeIfAbsent(request.method, (key) -> new AtomicInteger()).incrementAndGet();
				if (this.silentAfterStale && this.killed.get() > 0) {
					while (in.read() != -1) {
						// Never answered: held until the client closes.
					}
					return;
				}
				if (lastAnswered >= 0 && System.nanoTime() - lastAnswered >= this.idleLimit.toNanos()) {
					if (!this.staleAnswerDelay.isZero()) {
						// The upstream's own latency, not a wait on the test's progress.
						sleep(this.staleAnswerDelay);
					}
					this.killed.incrementAndGet();
					if (this.ending == Ending.RST) {
						socket.setSoLinger(true, 0);
					}
					return;
				}
				byte[] body = "HEAD".equals(request.method) ? new byte[0] : "ok".getBytes(StandardCharsets.US_ASCII);
				String head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n" + (this.advertise
						? "Keep-Alive: timeout=" + Math.max(1, this.idleLimit.toSeconds()) + "\r\n" : "") + "\r\n";
				out.write(head.getBytes(StandardCharsets.US_ASCII));
				out.write(body);
				out.flush();
				this.answered.computeIfAbsent(request.method, (key) -> new AtomicInteger()).incrementAndGet();
				lastAnswered = System.nanoTime();
			}
		}
		catch (IOException ex) {
			// The peer went away.
		}
		finally {
			this.sockets.remove(socket);
		}
	}

	private static void sleep(Duration delay) throws IOException {
		try {
			Thread.sleep(delay.toMillis());
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			throw new IOException(ex);
		}
	}

	@Override
	public void close() throws IOException {
		this.running = false;
		this.server.close();
		for (Socket socket : this.sockets) {
			socket.close();
		}
	}

	private record Request(String method) {

		/**
		 * Reads one request, its body included; {@code null} at the end of the stream.
		 */
		static Request read(InputStream in) throws IOException {
			ByteArrayOutputStream head = new ByteArrayOutputStream();
			int matched = 0;
			while (matched < 4) {
				int b = in.read();
				if (b < 0) {
					return null;
				}
				head.write(b);
				matched = (b == ((matched % 2 == 0) ? '\r' : '\n')) ? matched + 1 : ((b == '\r') ? 1 : 0);
			}
			String text = head.toString(StandardCharsets.US_ASCII);
			String method = text.substring(0, text.indexOf(' '));
			int length = 0;
			for (String line : text.split("\r\n")) {
				if (line.toLowerCase(Locale.ROOT).startsWith("content-length:")) {
					length = Integer.parseInt(line.substring(15).trim());
				}
			}
			if (in.readNBytes(length).length < length) {
				return null;
			}
			return new Request(method);
		}

	}

}
