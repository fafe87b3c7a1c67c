package io.github.hangup.bench.harness;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * HTTP/1.1 over a plain socket, to control exactly when a client goes away.
 */
public final class RawHttp implements AutoCloseable {

	private final Socket socket;

	private final InputStream in;

	private final OutputStream out;

	public RawHttp(int port, int timeoutMillis) throws IOException {
		this.socket = new Socket();
		this.socket.setTcpNoDelay(true);
		this.socket.setSoTimeout(timeoutMillis);
		this.socket.connect(new InetSocketAddress("127.0.0.1", port), timeoutMillis);
		this.in = this.socket.getInputStream();
		this.out = this.socket.getOutputStream();
	}

	public void send(String method, String target, boolean keepAlive) throws IOException {
		this.out.write((method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
				+ (keepAlive ? "" : "Connection: close\r\n") + "\r\n")
			.getBytes(StandardCharsets.US_ASCII));
		this.out.flush();
	}

	/** Reads a status line and headers; {@code null} when the connection ended first. */
	public Head readHead() throws IOException {
		ByteArrayOutputStream head = new ByteArrayOutputStream(256);
		int matched = 0;
		while (matched < 4) {
			int b = this.in.read();
			if (b == -1) {
				return null;
			}
			head.write(b);
			matched = (b == ((matched % 2 == 0) ? '\r' : '\n')) ? matched + 1 : (b == '\r' ? 1 : 0);
		}
		String[] lines = head.toString(StandardCharsets.US_ASCII).split("\r\n");
		int status = Integer.parseInt(lines[0].split(" ")[1]);
		long length = -1;
		boolean chunked = false;
		for (int i = 1; i < lines.length; i++) {
			String line = lines[i].toLowerCase(Locale.ROOT);
			if (line.startsWith("content-length:")) {
				length = Long.parseLong(line.substring(15).trim());
			}
			else if (line.startsWith("transfer-encoding:") && line.contains("chunked")) {
				chunked = true;
			}
		}
		return new Head(status, length, chunked);
	}

	/**
	 * Reads up to {@code length} bytes; answers how many came before the connection
	 * ended.
	 */
	public long readBody(long length) throws IOException {
		byte[] buffer = new byte[8192];
		long read = 0;
		while (read < length) {
			int n;
			try {
				n = this.in.read(buffer, 0, (int) Math.min(buffer.length, length - read));
			}
			catch (SocketTimeoutException ex) {
				throw ex;
			}
			catch (IOException ex) {
				// Reset: truncated.
				return read;
			}
			if (n == -1) {
				return read;
			}
			read += n;
		}
		return read;
	}

	/**
	 * Reads a body of {@code length} bytes as text; {@code null} when the connection
	 * ended first.
	 */
	public String readBodyText(long length) throws IOException {
		byte[] body = this.in.readNBytes((int) length);
		return (body.length == length) ? new String(body, StandardCharsets.UTF_8) : null;
	}

	/** Reads at least one byte of body; answers whether one came. */
	public boolean readSome() throws IOException {
		return this.in.read() != -1;
	}

	@Override
	public void close() {
		try {
			this.socket.close();
		}
		catch (IOException ex) {
			// Closing anyway.
		}
	}

	/** Status line and framing headers of a response. */
	public record Head(int status, long contentLength, boolean chunked) {
	}

}
