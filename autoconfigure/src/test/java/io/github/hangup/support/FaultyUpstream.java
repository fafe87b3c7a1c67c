package io.github.hangup.support;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static org.awaitility.Awaitility.await;

/**
 * A raw-socket HTTP/1.1 upstream that misbehaves on purpose, chosen by request path:
 * <ul>
 * <li>{@code /ok}: 200 with a small body;</li>
 * <li>{@code /echo}: 200 with the request's body (Content-Length or chunked);</li>
 * <li>{@code /hang}: reads the request and never answers;</li>
 * <li>{@code /close}: closes the socket without answering;</li>
 * <li>{@code /reset}: resets the connection without answering;</li>
 * <li>{@code /reset-mid-body}: declares a Content-Length, sends part of it, resets;</li>
 * <li>{@code /reset-mid-chunked}: sends one chunk of a chunked body, resets;</li>
 * <li>{@code /stall-mid-body}: declares a Content-Length, sends part of it, stalls;</li>
 * <li>{@code /stream}: sends one chunk of a chunked body, then stalls;</li>
 * <li>{@code /sse}: sends one server-sent event, then stalls;</li>
 * <li>{@code /trickle}: sends a chunked body of {@value #TRICKLE_CHUNKS} chunks,
 * {@value #TRICKLE_GAP_MILLIS} ms apart (a connection closed before its end counts as
 * closed by the peer);</li>
 * <li>{@code /megabyte}: 200 with a body of {@value #MEGABYTE} bytes that are not all
 * alike, with a Content-Length (see {@link #megabyte()});</li>
 * <li>{@code /status-500}: 500 with a small body;</li>
 * <li>any other path: 404 with an empty body;</li>
 * <li>{@code /gate}: answers 200 once the test {@link #openGate() opens the gate}.</li>
 * <li>{@code /malformed/<case>}: a reply that is not valid HTTP/1.1, one per
 * {@link #MALFORMED} case, then a close;</li>
 * <li>{@code /big}, {@code /big-chunked}: {@value #BIG_LENGTH} bytes as fast as the
 * connection takes them, with a Content-Length or chunked; {@link #written(String)} tells
 * how far it got (a connection closed before the end counts as closed by the peer).</li>
 * </ul>
 * It counts, per path, the requests received and the connections the peer closed while
 * the upstream was still waiting, so that tests can prove the proxy cancelled its call.
 */
public final class FaultyUpstream implements AutoCloseable {

	public static final int DECLARED_LENGTH = 1000;

	public static final int SENT_LENGTH = 100;

	public static final int TRICKLE_CHUNKS = 10;

	public static final long TRICKLE_GAP_MILLIS = 100;

	public static final int BIG_LENGTH = 32 * 1024 * 1024;

	public static final int MEGABYTE = 1024 * 1024;

	/**
	 * Replies that are not valid HTTP/1.1, by name: each is written as is, then the
	 * connection is closed.
	 */
	public static final Map<String, byte[]> MALFORMED = malformed();

	private static final int BIG_CHUNK = 16 * 1024;

	private final ServerSocket server;

	private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();

	private final Map<String, AtomicInteger> received = new ConcurrentHashMap<>();

	private final Map<String, AtomicInteger> peerClosed = new ConcurrentHashMap<>();

	private final AtomicInteger connections = new AtomicInteger();

	private final Map<String, AtomicInteger> answered = new ConcurrentHashMap<>();

	private final Map<String, AtomicLong> written = new ConcurrentHashMap<>();

	private final CountDownLatch gate = new CountDownLatch(1);

	private volatile boolean running = true;

	public FaultyUpstream() throws IOException {
		this.server = new ServerSocket(0, 200, InetAddress.getLoopbackAddress());
		Thread acceptor = new Thread(this::accept, "faulty-upstream-accept");
		acceptor.setDaemon(true);
		acceptor.start();
	}

	public int port() {
		return this.server.getLocalPort();
	}

	public String baseUrl() {
		return "http://127.0.0.1:" + port();
	}

	/** Number of requests received for a path. */
	public int received(String path) {
		return count(this.received, path);
	}

	/** Number of connections for a path closed by the peer while the upstream waited. */
	public int peerClosed(String path) {
		return count(this.peerClosed, path);
	}

	/** Number of complete responses written for a path. */
	public int answered(String path) {
		return count(this.answered, path);
	}

	/** Number of body bytes written so far for a path. */
	public long written(String path) {
		AtomicLong count = this.written.get(path);
		return (count != null) ? count.get() : 0;
	}

	/** Lets every request waiting on {@code /gate} be answered. */
	public void openGate() {
		this.gate.countDown();
	}

	/** Number of TCP connections accepted so far. */
	public int connections() {
		return this.connections.get();
	}

	public void awaitReceived(String path, int count) {
		await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(1)).until(() -> received(path) >= count);
	}

	public void awaitPeerClosed(String path, int count) {
		await().atMost(Duration.ofSeconds(10))
			.pollInterval(Duration.ofMillis(1))
			.until(() -> peerClosed(path) >= count);
	}

	private static int count(Map<String, AtomicInteger> counts, String path) {
		AtomicInteger count = counts.get(path);
		return (count != null) ? count.get() : 0;
	}

	private void accept() {
		while (this.running) {
			try {
				Socket socket = this.server.accept();
				this.connections.incrementAndGet();
				this.sockets.add(socket);
				Thread handler = new Thread(() -> serve(socket), "faulty-upstream-conn");
				handler.setDaemon(true);
				handler.start();
			}
			catch (IOException ex) {
				// closed
			}
		}
	}

	private void serve(Socket socket) {
		try (socket) {
			InputStream in = socket.getInputStream();
			OutputStream out = socket.getOutputStream();
			ByteArrayOutputStream echoed = new ByteArrayOutputStream();
			AtomicBoolean chunkedBody = new AtomicBoolean();
			while (this.running) {
				String path = readRequest(in, echoed, chunkedBody);
				if (path == null) {
					return;
				}
				this.received.computeIfAbsent(path, (key) -> new AtomicInteger()).incrementAndGet();
				if (path.equals("/echo")) {
					out.write(("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: "
							+ echoed.size() + "\r\n\r\n")
						.getBytes(StandardCharsets.US_ASCII));
					echoed.writeTo(out);
					out.flush();
					this.answered.computeIfAbsent(path, (key) -> new AtomicInteger()).incrementAndGet();
					continue;
				}
				if (!respond(path, socket, in, out)) {
					return;
				}
				if (chunkedBody.get() && !path.equals("/echo")) {
					// A client may send a body with any request (a proxy relays an empty
					// chunked one with a GET): the next request starts after it.
					readChunked(in, new ByteArrayOutputStream());
				}
			}
		}
		catch (IOException ex) {
			// peer went away
		}
		finally {
			this.sockets.remove(socket);
		}
	}

	/** Answers one request; returns whether the connection can serve another one. */
	private boolean respond(String path, Socket socket, InputStream in, OutputStream out) throws IOException {
		if (path.startsWith("/malformed/")) {
			byte[] reply = MALFORMED.get(path.substring("/malformed/".length()));
			out.write((reply != null) ? reply : new byte[0]);
			out.flush();
			socket.shutdownOutput();
			waitForPeerClose(path, in);
			return false;
		}
		switch (path) {
			case "/ok" -> {
				byte[] body = "hello".getBytes(StandardCharsets.US_ASCII);
				out.write(("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + body.length + "\r\n\r\n")
					.getBytes(StandardCharsets.US_ASCII));
				out.write(body);
				out.flush();
				return true;
			}
			case "/megabyte" -> {
				byte[] body = megabyte();
				out.write(("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: " + body.length
						+ "\r\n\r\n")
					.getBytes(StandardCharsets.US_ASCII));
				out.write(body);
				out.flush();
				return true;
			}
			case "/status-500" -> {
				byte[] body = "upstream failed".getBytes(StandardCharsets.US_ASCII);
				out.write(("HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\nContent-Length: "
						+ body.length + "\r\n\r\n")
					.getBytes(StandardCharsets.US_ASCII));
				out.write(body);
				out.flush();
				return true;
			}
			case "/big", "/big-chunked" -> {
				boolean chunked = path.equals("/big-chunked");
				out.write(("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
						+ (chunked ? "Transfer-Encoding: chunked" : "Content-Length: " + BIG_LENGTH) + "\r\n\r\n")
					.getBytes(StandardCharsets.US_ASCII));
				AtomicLong count = this.written.computeIfAbsent(path, (key) -> new AtomicLong());
				byte[] chunk = new byte[BIG_CHUNK];
				try {
					for (int sent = 0; sent < BIG_LENGTH; sent += BIG_CHUNK) {
						if (chunked) {
							out.write((Integer.toHexString(BIG_CHUNK) + "\r\n").getBytes(StandardCharsets.US_ASCII));
						}
						out.write(chunk);
						if (chunked) {
							out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
						}
						count.addAndGet(BIG_CHUNK);
					}
					if (chunked) {
						out.write("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
					}
					out.flush();
				}
				catch (IOException ex) {
					// The peer closed the connection while the body was still coming.
					this.peerClosed.computeIfAbsent(path, (key) -> new AtomicInteger()).incrementAndGet();
					throw ex;
				}
				this.answered.computeIfAbsent(path, (key) -> new AtomicInteger()).incrementAndGet();
				return true;
			}
			case "/gate" -> {
				return answerWhenGateOpens(path, socket, in, out);
			}
			case "/malformed-mid-chunked" -> {
				out.write(("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
						+ "6\r\nchunk\n\r\nzz\r\nnot a chunk\r\n")
					.getBytes(StandardCharsets.US_ASCII));
				out.flush();
				waitForPeerClose(path, in);
				return false;
			}
			case "/hang" -> {
				waitForPeerClose(path, in);
				return false;
			}
			case "/close" -> {
				socket.shutdownOutput();
				return false;
			}
			case "/reset" -> {
				reset(socket);
				return false;
			}
			case "/reset-mid-body", "/stall-mid-body" -> {
				out.write(("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: "
						+ DECLARED_LENGTH + "\r\n\r\n")
					.getBytes(StandardCharsets.US_ASCII));
				out.write(new byte[SENT_LENGTH]);
				out.flush();
				if (path.equals("/reset-mid-body")) {
					reset(socket);
				}
				else {
					waitForPeerClose(path, in);
				}
				return false;
			}
			case "/reset-mid-chunked", "/stream" -> {
				out.write(("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
						+ "6\r\nchunk\n\r\n")
					.getBytes(StandardCharsets.US_ASCII));
				out.flush();
				if (path.equals("/reset-mid-chunked")) {
					reset(socket);
				}
				else {
					waitForPeerClose(path, in);
				}
				return false;
			}
			case "/sse" -> {
				out.write(("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
						+ "c\r\ndata:first\n\n\r\n")
					.getBytes(StandardCharsets.US_ASCII));
				out.flush();
				waitForPeerClose(path, in);
				return false;
			}
			case "/trickle" -> {
				out.write("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
					.getBytes(StandardCharsets.US_ASCII));
				try {
					for (int chunk = 0; chunk < TRICKLE_CHUNKS; chunk++) {
						out.write("1\r\nx\r\n".getBytes(StandardCharsets.US_ASCII));
						out.flush();
						pause(TRICKLE_GAP_MILLIS);
					}
					out.write("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
					out.flush();
				}
				catch (IOException ex) {
					// The peer closed the connection while the body was still coming.
					this.peerClosed.computeIfAbsent(path, (key) -> new AtomicInteger()).incrementAndGet();
					throw ex;
				}
				this.answered.computeIfAbsent(path, (key) -> new AtomicInteger()).incrementAndGet();
				return true;
			}
			default -> {
				out.write("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
				out.flush();
				return true;
			}
		}
	}

	/** Waits for the gate while watching for the peer closing the connection. */
	private boolean answerWhenGateOpens(String path, Socket socket, InputStream in, OutputStream out)
			throws IOException {
		socket.setSoTimeout(5);
		while (this.gate.getCount() > 0) {
			try {
				if (in.read() == -1) {
					this.peerClosed.computeIfAbsent(path, (key) -> new AtomicInteger()).incrementAndGet();
					return false;
				}
			}
			catch (SocketTimeoutException ex) {
				// still open: look at the gate again
			}
			catch (IOException ex) {
				// reset by peer: closed too
				this.peerClosed.computeIfAbsent(path, (key) -> new AtomicInteger()).incrementAndGet();
				return false;
			}
		}
		socket.setSoTimeout(0);
		out.write("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ngate".getBytes(StandardCharsets.US_ASCII));
		out.flush();
		this.answered.computeIfAbsent(path, (key) -> new AtomicInteger()).incrementAndGet();
		return true;
	}

	private void waitForPeerClose(String path, InputStream in) {
		try {
			while (in.read() != -1) {
				// discard
			}
		}
		catch (IOException ex) {
			// reset by peer: closed too
		}
		if (this.running) {
			this.peerClosed.computeIfAbsent(path, (key) -> new AtomicInteger()).incrementAndGet();
		}
	}

	/** Paces the upstream's own output; no test waits on it. */
	private static void pause(long millis) throws IOException {
		try {
			Thread.sleep(millis);
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			throw new IOException(ex);
		}
	}

	private static void reset(Socket socket) throws SocketException, IOException {
		socket.setSoLinger(true, 0);
		socket.close();
	}

	/**
	 * Reads a request head and any Content-Length body; returns the path or null at EOF.
	 * The body of {@code /echo}, with a Content-Length or chunked, is read whole and kept
	 * in {@code echoed} for the answer. A chunked body of another path is left to read:
	 * its path may watch it arrive, and the server reads what is left of it once the path
	 * answered on a connection kept open.
	 */
	private static String readRequest(InputStream in, ByteArrayOutputStream echoed, AtomicBoolean chunkedBody)
			throws IOException {
		ByteArrayOutputStream head = new ByteArrayOutputStream();
		int matched = 0;
		int b;
		while (matched < 4 && (b = in.read()) != -1) {
			head.write(b);
			matched = (b == "\r\n\r\n".charAt(matched)) ? matched + 1 : ((b == '\r') ? 1 : 0);
		}
		if (matched < 4) {
			return null;
		}
		String[] lines = head.toString(StandardCharsets.US_ASCII).split("\r\n");
		long length = 0;
		boolean chunked = false;
		for (String line : lines) {
			if (line.regionMatches(true, 0, "content-length:", 0, 15)) {
				length = Long.parseLong(line.substring(15).trim());
			}
			else if (line.regionMatches(true, 0, "transfer-encoding:", 0, 18)
					&& line.substring(18).trim().equalsIgnoreCase("chunked")) {
				chunked = true;
			}
		}
		String target = lines[0].split(" ")[1];
		chunkedBody.set(chunked);
		int query = target.indexOf('?');
		String path = (query >= 0) ? target.substring(0, query) : target;
		echoed.reset();
		if (!path.equals("/echo")) {
			in.skipNBytes(length);
		}
		else if (chunked) {
			readChunked(in, echoed);
		}
		else {
			echoed.write(in.readNBytes((int) length));
		}
		return path;
	}

	private static void readChunked(InputStream in, ByteArrayOutputStream body) throws IOException {
		while (true) {
			String size = readLine(in);
			int extension = size.indexOf(';');
			int length = Integer.parseInt((extension >= 0) ? size.substring(0, extension) : size.trim(), 16);
			if (length == 0) {
				// Trailers, up to the empty line.
				while (!readLine(in).isEmpty()) {
					// skipped
				}
				return;
			}
			body.write(in.readNBytes(length));
			readLine(in);
		}
	}

	private static String readLine(InputStream in) throws IOException {
		StringBuilder line = new StringBuilder();
		int b;
		while ((b = in.read()) != -1 && b != '\n') {
			if (b != '\r') {
				line.append((char) b);
			}
		}
		if (b == -1) {
			throw new EOFException("Request body cut");
		}
		return line.toString();
	}

	@Override
	public void close() throws IOException {
		this.running = false;
		this.server.close();
		for (Socket socket : this.sockets) {
			socket.close();
		}
	}

	/** The body of {@code /megabyte}: byte {@code i} is {@code i % 251}. */
	public static byte[] megabyte() {
		byte[] body = new byte[MEGABYTE];
		for (int i = 0; i < body.length; i++) {
			body[i] = (byte) (i % 251);
		}
		return body;
	}

	private static Map<String, byte[]> malformed() {
		Map<String, byte[]> replies = new java.util.LinkedHashMap<>();
		replies.put("not-http", ascii("hello, this is not HTTP\r\n\r\n"));
		replies.put("status-line-then-close", ascii("HTTP/1.1 200 OK\r\n"));
		replies.put("half-header-then-close", ascii("HTTP/1.1 200 OK\r\nContent-Ty"));
		replies.put("status-099", ascii("HTTP/1.1 099 Odd\r\nContent-Length: 0\r\n\r\n"));
		replies.put("status-abc", ascii("HTTP/1.1 abc Odd\r\nContent-Length: 0\r\n\r\n"));
		replies.put("status-101",
				ascii("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nhello"));
		replies.put("status-999", ascii("HTTP/1.1 999 Odd\r\nContent-Length: 2\r\n\r\nok"));
		replies.put("duplicate-content-length",
				ascii("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok"));
		replies.put("comma-content-length", ascii("HTTP/1.1 200 OK\r\nContent-Length: 2, 3\r\n\r\nok"));
		replies.put("negative-content-length", ascii("HTTP/1.1 200 OK\r\nContent-Length: -2\r\n\r\nok"));
		replies.put("huge-content-length",
				ascii("HTTP/1.1 200 OK\r\nContent-Length: 12345678901234567890123\r\n\r\nok"));
		replies.put("content-length-and-chunked", ascii(
				"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"));
		replies.put("huge-header",
				ascii("HTTP/1.1 200 OK\r\nX-Big: " + "x".repeat(100 * 1024) + "\r\nContent-Length: 2\r\n\r\nok"));
		StringBuilder many = new StringBuilder("HTTP/1.1 200 OK\r\n");
		for (int i = 0; i < 5000; i++) {
			many.append("X-H").append(i).append(": v\r\n");
		}
		replies.put("many-headers", ascii(many.append("Content-Length: 2\r\n\r\nok").toString()));
		replies.put("bad-first-chunk-size",
				ascii("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nok\r\n0\r\n\r\n"));
		replies.put("nul-in-header", ascii("HTTP/1.1 200 OK\r\nX-Nul: a\u0000b\r\nContent-Length: 2\r\n\r\nok"));
		replies.put("lf-only", ascii("HTTP/1.1 200 OK\nContent-Length: 2\n\nok"));
		// An HTTP/2 server's connection preface (a SETTINGS frame) sent to an HTTP/1.1
		// client.
		replies.put("http2-frames", new byte[] { 0, 0, 0, 4, 0, 0, 0, 0, 0 });
		return java.util.Collections.unmodifiableMap(replies);
	}

	private static byte[] ascii(String text) {
		return text.getBytes(StandardCharsets.ISO_8859_1);
	}

	/** Returns a loopback port on which nothing listens. */
	public static int refusedPort() {
		try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
			return socket.getLocalPort();
		}
		catch (IOException ex) {
			throw new UncheckedIOException(ex);
		}
	}

}
