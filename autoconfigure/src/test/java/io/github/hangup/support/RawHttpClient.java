package io.github.hangup.support;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * A raw-socket HTTP/1.1 client that reports exactly what arrived, so that tests can tell
 * a complete body from a truncated one and a truncated one from a stalled one.
 */
public final class RawHttpClient implements AutoCloseable {

	private final Socket socket;

	private final InputStream in;

	private final OutputStream out;

	public RawHttpClient(int port, Duration readTimeout) throws IOException {
		this.socket = new Socket(InetAddress.getLoopbackAddress(), port);
		this.socket.setSoTimeout((int) readTimeout.toMillis());
		this.in = this.socket.getInputStream();
		this.out = this.socket.getOutputStream();
	}

	public RawHttpClient send(String method, String target, String... headers) throws IOException {
		StringBuilder request = new StringBuilder(method).append(' ').append(target).append(" HTTP/1.1\r\n");
		request.append("Host: localhost\r\n");
		for (String header : headers) {
			request.append(header).append("\r\n");
		}
		request.append("\r\n");
		this.out.write(request.toString().getBytes(StandardCharsets.US_ASCII));
		this.out.flush();
		return this;
	}

	/** Writes raw bytes, such as part of a request body. */
	public RawHttpClient write(byte[] bytes) throws IOException {
		this.out.write(bytes);
		this.out.flush();
		return this;
	}

	/**
	 * Whether the response is still open: nothing more arrives within {@code wait}, and
	 * the server neither closed nor reset the connection.
	 */
	public boolean isWaiting(Duration wait) throws IOException {
		int timeout = this.socket.getSoTimeout();
		this.socket.setSoTimeout((int) wait.toMillis());
		try {
			return this.in.read() == -2;
		}
		catch (SocketTimeoutException ex) {
			return true;
		}
		catch (IOException ex) {
			return false;
		}
		finally {
			this.socket.setSoTimeout(timeout);
		}
	}

	/** Resets the connection (RST) instead of closing it. */
	public void reset() throws IOException {
		this.socket.setSoLinger(true, 0);
		this.socket.close();
	}

	/** Reads the status line and headers. */
	public Head readHead() throws IOException {
		ByteArrayOutputStream head = new ByteArrayOutputStream();
		int matched = 0;
		int b;
		while (matched < 4 && (b = this.in.read()) != -1) {
			head.write(b);
			matched = (b == "\r\n\r\n".charAt(matched)) ? matched + 1 : ((b == '\r') ? 1 : 0);
		}
		if (matched < 4) {
			throw new IOException("Connection closed before the response head: " + head);
		}
		String[] lines = head.toString(StandardCharsets.US_ASCII).split("\r\n");
		int status = Integer.parseInt(lines[0].split(" ")[1]);
		Map<String, String> headers = new LinkedHashMap<>();
		for (int i = 1; i < lines.length; i++) {
			int colon = lines[i].indexOf(':');
			headers.put(lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT),
					lines[i].substring(colon + 1).trim());
		}
		return new Head(status, headers);
	}

	/** Reads exactly n bytes of raw body data (no chunk decoding). */
	public byte[] readBytes(int n) throws IOException {
		return this.in.readNBytes(n);
	}

	/**
	 * Reads everything until the server closes the connection or, when {@code stopAt} is
	 * seen, until then. A read timeout means the response stalled.
	 */
	public Rest readRest() throws IOException {
		ByteArrayOutputStream rest = new ByteArrayOutputStream();
		byte[] buffer = new byte[8192];
		try {
			int n;
			while ((n = this.in.read(buffer)) != -1) {
				rest.write(buffer, 0, n);
			}
			return new Rest(rest.toByteArray(), Ending.CLOSED);
		}
		catch (SocketTimeoutException ex) {
			return new Rest(rest.toByteArray(), Ending.STALLED);
		}
		catch (IOException ex) {
			return new Rest(rest.toByteArray(), Ending.RESET);
		}
	}

	/**
	 * Decodes a chunked body to the length of its payload; fails unless it ends with the
	 * final chunk and nothing after it.
	 */
	public static long payloadOfChunked(byte[] body) {
		long payload = 0;
		int at = 0;
		while (true) {
			int lineEnd = indexOfCrlf(body, at);
			int size = Integer.parseInt(new String(body, at, lineEnd - at, StandardCharsets.US_ASCII).trim(), 16);
			at = lineEnd + 2;
			if (size == 0) {
				if (body.length != at + 2) {
					throw new AssertionError((body.length - at - 2) + " bytes after the final chunk");
				}
				return payload;
			}
			payload += size;
			at += size + 2;
			if (at >= body.length) {
				throw new AssertionError(
						"Truncated chunk: " + payload + " bytes of payload in " + body.length + " bytes");
			}
		}
	}

	private static int indexOfCrlf(byte[] body, int from) {
		for (int i = from; i < body.length - 1; i++) {
			if (body[i] == '\r' && body[i + 1] == '\n') {
				return i;
			}
		}
		throw new AssertionError("No chunk size line at " + from + " of " + body.length + " bytes");
	}

	/** Closes the connection: the client gives up. */
	@Override
	public void close() throws IOException {
		this.socket.close();
	}

	public record Head(int status, Map<String, String> headers) {

		public String header(String name) {
			return this.headers.get(name.toLowerCase(Locale.ROOT));
		}

	}

	public enum Ending {

		/** The server closed the connection (FIN). */
		CLOSED,

		/** The server reset the connection. */
		RESET,

		/** Nothing more arrived within the read timeout. */
		STALLED

	}

	public record Rest(byte[] bytes, Ending ending) {

		public String text() {
			return new String(this.bytes, StandardCharsets.US_ASCII);
		}

	}

}
