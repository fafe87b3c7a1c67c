package io.github.hangup.sample.support;

import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.jspecify.annotations.Nullable;

/**
 * HTTP/1.1 over a plain socket, for the cases an HTTP client hides: responses with no
 * bytes at all, bodies cut short, chunk framing, and headers a client would rewrite.
 */
public final class RawHttpConnection implements Closeable {

	private static final Duration READ_TIMEOUT = Duration.ofSeconds(10);

	private final Socket socket;

	private final InputStream in;

	private RawHttpConnection(Socket socket) throws IOException {
		this.socket = socket;
		this.in = socket.getInputStream();
	}

	/**
	 * Connects to a loopback port. Every read gives up after ten seconds.
	 * @param port the port
	 * @return the connection
	 * @throws IOException if the connection cannot be made
	 */
	public static RawHttpConnection open(int port) throws IOException {
		Socket socket = new Socket(InetAddress.getLoopbackAddress(), port);
		socket.setSoTimeout((int) READ_TIMEOUT.toMillis());
		return new RawHttpConnection(socket);
	}

	/**
	 * Sends bytes as they are, CRLFs included.
	 * @param request the request
	 * @throws IOException on a write failure
	 */
	public void send(String request) throws IOException {
		OutputStream out = this.socket.getOutputStream();
		out.write(request.getBytes(StandardCharsets.UTF_8));
		out.flush();
	}

	/**
	 * Reads a status line and headers.
	 * @return the head, or {@code null} if the peer closed before sending any byte
	 * @throws IOException on a read failure, or EOF within the head
	 */
	public @Nullable Head readHead() throws IOException {
		ByteArrayOutputStream head = new ByteArrayOutputStream();
		int matched = 0;
		while (matched < 4) {
			int b = this.in.read();
			if (b == -1) {
				if (head.size() == 0) {
					return null;
				}
				throw new EOFException("EOF within the response head: " + head);
			}
			head.write(b);
			matched = (b == "\r\n\r\n".charAt(matched)) ? matched + 1 : ((b == '\r') ? 1 : 0);
		}
		return Head.parse(head.toString(StandardCharsets.ISO_8859_1));
	}

	/**
	 * Reads a body of known length.
	 * @param length the number of bytes
	 * @return the body
	 * @throws IOException on a read failure, or EOF before the end
	 */
	public String readBody(int length) throws IOException {
		return new String(readBodyBytes(length), StandardCharsets.UTF_8);
	}

	/**
	 * Reads a binary body of known length.
	 * @param length the number of bytes
	 * @return the body
	 * @throws IOException on a read failure, or EOF before the end
	 */
	public byte[] readBodyBytes(int length) throws IOException {
		byte[] body = this.in.readNBytes(length);
		if (body.length < length) {
			throw new EOFException("EOF after " + body.length + " of " + length + " body bytes");
		}
		return body;
	}

	/**
	 * Reads a chunked body, keeping each chunk apart to show how the body was framed.
	 * @return the payload of each chunk, without the final empty one
	 * @throws IOException on a read failure or broken framing
	 */
	public List<String> readChunks() throws IOException {
		List<String> chunks = new ArrayList<>();
		while (true) {
			int size = Integer.parseInt(readLine().split(";")[0].trim(), 16);
			if (size == 0) {
				readLine();
				return chunks;
			}
			chunks.add(new String(this.in.readNBytes(size), StandardCharsets.UTF_8));
			if (!readLine().isEmpty()) {
				throw new IOException("Chunk of " + size + " bytes not followed by CRLF");
			}
		}
	}

	/**
	 * Reads until the peer closes the connection, or resets it.
	 * @return the bytes read, and how reading ended
	 */
	public Remainder readToEnd() {
		ByteArrayOutputStream bytes = new ByteArrayOutputStream();
		byte[] buffer = new byte[512];
		try {
			int read;
			while ((read = this.in.read(buffer)) != -1) {
				bytes.write(buffer, 0, read);
			}
			return new Remainder(bytes.toByteArray(), null);
		}
		catch (IOException ex) {
			return new Remainder(bytes.toByteArray(), ex);
		}
	}

	private String readLine() throws IOException {
		StringBuilder line = new StringBuilder();
		int b;
		while ((b = this.in.read()) != '\n') {
			if (b == -1) {
				throw new EOFException("EOF within a line: " + line);
			}
			if (b != '\r') {
				line.append((char) b);
			}
		}
		return line.toString();
	}

	@Override
	public void close() throws IOException {
		this.socket.close();
	}

	/**
	 * Status line and headers of a response.
	 *
	 * @param status the status code
	 * @param headers the headers, by lower-case name
	 */
	public record Head(int status, Map<String, String> headers) {

		static Head parse(String text) {
			String[] lines = text.split("\r\n");
			Map<String, String> headers = new LinkedHashMap<>();
			for (int i = 1; i < lines.length; i++) {
				int colon = lines[i].indexOf(':');
				headers.put(lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT),
						lines[i].substring(colon + 1).trim());
			}
			return new Head(Integer.parseInt(lines[0].split(" ")[1]), headers);
		}

		/**
		 * Returns a header value.
		 * @param name the header name, in any case
		 * @return the value, or {@code null}
		 */
		public @Nullable String header(String name) {
			return this.headers.get(name.toLowerCase(Locale.ROOT));
		}

		/**
		 * Returns the Content-Length.
		 * @return the length
		 * @throws IllegalStateException if there is none
		 */
		public int contentLength() {
			String length = header("content-length");
			if (length == null) {
				throw new IllegalStateException("No Content-Length in " + this.headers);
			}
			return Integer.parseInt(length);
		}

	}

	/**
	 * What was left on a connection when the peer went away.
	 *
	 * @param bytes the bytes read
	 * @param failure how reading failed, or {@code null} on a clean EOF
	 */
	public record Remainder(byte[] bytes, @Nullable IOException failure) {

	}

}
