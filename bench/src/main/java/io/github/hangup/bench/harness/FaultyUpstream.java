package io.github.hangup.bench.harness;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Upstream on raw sockets that misbehaves on request, one thread per connection. Every
 * request carries an {@code id} query parameter so that the driver can follow it: when
 * the upstream received it, when its connection was closed by the proxy, and when a held
 * response may go on.
 * <ul>
 * <li>{@code /ok}, {@code /big}: 200 with a {@value #SMALL}-byte or {@value #BIG}-byte
 * body, keep-alive;</li>
 * <li>{@code /hold}, {@code /slow}: never answers, waits for the proxy to close (30 s at
 * most); {@code /park}: the same without a limit;</li>
 * <li>{@code /partial}: headers and {@value #FIRST_PART} bytes of a {@value #BIG}-byte
 * body, then waits for the proxy to close;</li>
 * <li>{@code /close}: closes without answering; {@code /reset}: resets without
 * answering;</li>
 * <li>{@code /stale}: 200 with a {@value #SMALL}-byte body on a new connection; on a
 * reused one, closes without answering, as a keep-alive connection a load balancer
 * dropped while it sat idle;</li>
 * <li>{@code /reset-mid}: like {@code /partial}, then resets once the driver releases
 * it;</li>
 * <li>{@code /released?id=…&with=…&at=…}: the bench app's word that the caller blocked on
 * that request's call was released, completes {@link Tracked#released}; 200, empty,
 * keep-alive.</li>
 * </ul>
 */
public final class FaultyUpstream implements Closeable {

	public static final int SMALL = 64;

	public static final int BIG = 16 * 1024;

	public static final int FIRST_PART = 1024;

	/** Replies that are not valid HTTP/1.1, each followed by a close. */
	private static final String[] MALFORMED = { "hello, this is not HTTP\r\n\r\n",
			"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok", "HTTP/1.1 abc Odd\r\n\r\n",
			"HTTP/1.1 200 OK\r\nContent-Le", "HTTP/1.1 999 Odd\r\nContent-Length: 0\r\n\r\n" };

	private static final byte[] SMALL_BODY = body(SMALL);

	private static final byte[] BIG_BODY = body(BIG);

	private static final byte[] NO_BODY = new byte[0];

	private final ServerSocket server;

	private final ExecutorService threads = Executors.newCachedThreadPool((task) -> {
		Thread thread = new Thread(task, "faulty-upstream");
		thread.setDaemon(true);
		return thread;
	});

	private final Map<String, Tracked> requests = new ConcurrentHashMap<>();

	private final AtomicInteger openConnections = new AtomicInteger();

	private final AtomicInteger killedOnReused = new AtomicInteger();

	private final AtomicInteger staleDropped = new AtomicInteger();

	private volatile boolean closed;

	public FaultyUpstream() throws IOException {
		this.server = new ServerSocket();
		this.server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 1024);
		this.threads.execute(this::accept);
	}

	public int port() {
		return this.server.getLocalPort();
	}

	public String url() {
		return "http://127.0.0.1:" + port();
	}

	/** Connections accepted and not yet closed. */
	public int openConnections() {
		return this.openConnections.get();
	}

	/**
	 * Requests closed or reset without an answer on a connection that had already
	 * answered one: what a client sees of a stale keep-alive connection, and retries once
	 * if it can.
	 */
	public int killedOnReused() {
		return this.killedOnReused.get();
	}

	/** Requests to {@code /stale} that found their keep-alive connection dropped. */
	public int staleDropped() {
		return this.staleDropped.get();
	}

	/** Follows the request with this id (created on first use by either side). */
	public Tracked tracked(String id) {
		return this.requests.computeIfAbsent(id, (key) -> new Tracked());
	}

	public void forget(String id) {
		this.requests.remove(id);
	}

	private void accept() {
		while (!this.closed) {
			try {
				Socket socket = this.server.accept();
				this.openConnections.incrementAndGet();
				this.threads.execute(() -> serve(socket));
			}
			catch (IOException ex) {
				if (!this.closed) {
					ex.printStackTrace();
				}
			}
		}
	}

	private void serve(Socket socket) {
		try (socket) {
			socket.setTcpNoDelay(true);
			// Nothing is held longer than this; a proxy that never closes is reported by
			// the driver.
			socket.setSoTimeout(30_000);
			// Buffered: a request head read one byte per system call takes a good part of
			// a millisecond.
			InputStream in = new BufferedInputStream(socket.getInputStream());
			OutputStream out = socket.getOutputStream();
			long answeredAt = -1;
			while (true) {
				String target = readRequestTarget(in);
				if (target == null) {
					return;
				}
				String path = target.contains("?") ? target.substring(0, target.indexOf('?')) : target;
				String id = parameter(target, "id");
				Tracked tracked = (id != null) ? tracked(id) : new Tracked();
				long now = System.nanoTime();
				tracked.received.complete(now);
				if (answeredAt >= 0 && (path.equals("/close") || path.equals("/reset") || path.equals("/stale"))) {
					this.killedOnReused.incrementAndGet();
				}
				switch (path) {
					case "/ok" -> respond(out, SMALL_BODY);
					case "/big" -> respond(out, BIG_BODY);
					case "/stale" -> {
						// A keep-alive connection idle for long enough was dropped (by a
						// load balancer, say): the request that finds it gets no answer.
						if (answeredAt >= 0) {
							this.staleDropped.incrementAndGet();
							tracked.dropped.incrementAndGet();
							return;
						}
						respond(out, SMALL_BODY);
					}
					case "/hold", "/slow" -> {
						awaitPeerClose(in, tracked);
						return;
					}
					case "/park" -> {
						// Like /hold, for as long as the whole soak lasts.
						socket.setSoTimeout(0);
						awaitPeerClose(in, tracked);
						return;
					}
					case "/partial" -> {
						sendFirstPart(out);
						awaitPeerClose(in, tracked);
						return;
					}
					case "/close" -> {
						return;
					}
					case "/malformed" -> {
						// A few kinds of replies that are not valid HTTP, in turn.
						int which = Math.floorMod((id != null) ? id.hashCode() : 0, MALFORMED.length);
						out.write(MALFORMED[which].getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
						out.flush();
						return;
					}
					case "/reset" -> {
						reset(socket);
						return;
					}
					case "/reset-mid" -> {
						sendFirstPart(out);
						tracked.release.get(30, java.util.concurrent.TimeUnit.SECONDS);
						reset(socket);
						return;
					}
					case "/released" -> {
						String at = parameter(target, "at");
						tracked.released.complete(new Release(now, String.valueOf(parameter(target, "with")),
								(at != null) ? Long.parseLong(at) : 0));
						respond(out, NO_BODY);
					}
					default -> {
						out.write("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
							.getBytes(StandardCharsets.US_ASCII));
						out.flush();
					}
				}
				// Still open: the connection answered and waits for its next request.
				answeredAt = System.nanoTime();
			}
		}
		catch (Exception ex) {
			// The proxy went away: nothing to answer.
		}
		finally {
			this.openConnections.decrementAndGet();
		}
	}

	private static void respond(OutputStream out, byte[] body) throws IOException {
		out.write(("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: " + body.length
				+ "\r\n\r\n")
			.getBytes(StandardCharsets.US_ASCII));
		out.write(body);
		out.flush();
	}

	private static void sendFirstPart(OutputStream out) throws IOException {
		out.write(("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: " + BIG + "\r\n\r\n")
			.getBytes(StandardCharsets.US_ASCII));
		out.write(BIG_BODY, 0, FIRST_PART);
		out.flush();
	}

	private static void awaitPeerClose(InputStream in, Tracked tracked) {
		try {
			while (in.read() != -1) {
				// A proxy sends nothing more on a connection with a request in flight.
			}
			tracked.peerClosed.complete(System.nanoTime());
		}
		catch (SocketTimeoutException ex) {
			tracked.peerClosed.completeExceptionally(ex);
		}
		catch (IOException ex) {
			// Reset by the proxy: closed as well.
			tracked.peerClosed.complete(System.nanoTime());
		}
	}

	private static void reset(Socket socket) throws IOException {
		socket.setSoLinger(true, 0);
		socket.close();
	}

	private static String parameter(String target, String name) {
		int query = target.indexOf('?');
		if (query < 0) {
			return null;
		}
		for (String pair : target.substring(query + 1).split("&")) {
			if (pair.startsWith(name + "=")) {
				return pair.substring(name.length() + 1);
			}
		}
		return null;
	}

	/**
	 * Reads a request head and answers its target, or {@code null} at the end of the
	 * stream.
	 */
	static String readRequestTarget(InputStream in) throws IOException {
		ByteArrayOutputStream head = new ByteArrayOutputStream(256);
		int matched = 0;
		while (matched < 4) {
			int b = in.read();
			if (b == -1) {
				return null;
			}
			head.write(b);
			matched = (b == ((matched % 2 == 0) ? '\r' : '\n')) ? matched + 1 : (b == '\r' ? 1 : 0);
		}
		String requestLine = head.toString(StandardCharsets.US_ASCII).lines().findFirst().orElse("");
		String[] parts = requestLine.split(" ");
		return (parts.length > 1) ? parts[1] : "/";
	}

	private static byte[] body(int length) {
		byte[] body = new byte[length];
		Arrays.fill(body, (byte) 'x');
		return body;
	}

	@Override
	public void close() throws IOException {
		this.closed = true;
		this.server.close();
		this.threads.shutdownNow();
	}

	/** What the upstream saw of one request. */
	public static final class Tracked {

		/** Completes with {@link System#nanoTime()} when the request arrived. */
		public final CompletableFuture<Long> received = new CompletableFuture<>();

		/**
		 * Completes with {@link System#nanoTime()} when the proxy closed the connection.
		 */
		public final CompletableFuture<Long> peerClosed = new CompletableFuture<>();

		/**
		 * How many times a {@code /stale} request with this id found its connection
		 * dropped.
		 */
		public final java.util.concurrent.atomic.AtomicInteger dropped = new java.util.concurrent.atomic.AtomicInteger();

		/** Completed by the driver to let a held response go on. */
		public final CompletableFuture<Void> release = new CompletableFuture<>();

		/**
		 * Completes when the bench app reports the caller blocked on this request's call
		 * released.
		 */
		public final CompletableFuture<Release> released = new CompletableFuture<>();

	}

	/**
	 * The bench app's report that a blocked caller was released.
	 *
	 * @param received {@link System#nanoTime()} here when the report arrived
	 * @param with what the caller got: the exception's class name, or {@code completed}
	 * @param at the bench app's {@link System#nanoTime()} when the caller was released
	 */
	public record Release(long received, String with, long at) {
	}

}
