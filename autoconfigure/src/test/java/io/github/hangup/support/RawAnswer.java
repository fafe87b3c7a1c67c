package io.github.hangup.support;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;

/**
 * A whole HTTP/1.1 answer as a raw-socket client received it: the status, the body's
 * payload (chunked framing or {@code Content-Length} decoded) and whether the body was
 * complete, so that tests compare what two servers answered byte for byte, whatever their
 * chunk sizes.
 *
 * @param status the status code, or {@code 0} when no response head arrived
 * @param body the payload received, as far as it arrived
 * @param complete whether the body ended as its framing says it must: the final chunk,
 * the declared length, or a close when neither was given
 * @param ending how the connection ended after the body
 */
public record RawAnswer(int status, byte[] body, boolean complete, RawHttpClient.Ending ending) {

	/**
	 * Send a {@code GET} with {@code Connection: close} and read the whole answer.
	 * @param port the server's port on the loopback address
	 * @param target the request target
	 * @param headers extra request headers, as {@code Name: value}
	 * @return the answer; status {@code 0} when the connection ended before a response
	 * head
	 */
	public static RawAnswer get(int port, String target, String... headers) {
		String[] all = new String[headers.length + 1];
		System.arraycopy(headers, 0, all, 0, headers.length);
		all[headers.length] = "Connection: close";
		try (RawHttpClient client = new RawHttpClient(port, Duration.ofSeconds(10))) {
			return read(client.send("GET", target, all));
		}
		catch (IOException ex) {
			return new RawAnswer(0, new byte[0], false, RawHttpClient.Ending.RESET);
		}
	}

	/**
	 * Read the answer to a request already sent on the client, until the server closes
	 * the connection (send the request with {@code Connection: close}).
	 * @param client the client
	 * @return the answer
	 * @throws IOException when the connection ended before a response head
	 */
	public static RawAnswer read(RawHttpClient client) throws IOException {
		RawHttpClient.Head head = client.readHead();
		return of(head, client.readRest());
	}

	/**
	 * Decode the body that followed a response head.
	 * @param head the response head
	 * @param rest everything read after it
	 * @return the answer
	 */
	public static RawAnswer of(RawHttpClient.Head head, RawHttpClient.Rest rest) {
		String encoding = head.header("Transfer-Encoding");
		String length = head.header("Content-Length");
		if (encoding != null && encoding.equalsIgnoreCase("chunked")) {
			return dechunk(head.status(), rest);
		}
		if (length != null) {
			int declared = Integer.parseInt(length);
			byte[] bytes = rest.bytes();
			byte[] body = (bytes.length > declared) ? Arrays.copyOf(bytes, declared) : bytes;
			return new RawAnswer(head.status(), body, bytes.length == declared, rest.ending());
		}
		return new RawAnswer(head.status(), rest.bytes(), rest.ending() == RawHttpClient.Ending.CLOSED, rest.ending());
	}

	/**
	 * Return the body as text, each byte one ISO-8859-1 character.
	 * @return the body
	 */
	public String text() {
		return new String(this.body, StandardCharsets.ISO_8859_1);
	}

	private static RawAnswer dechunk(int status, RawHttpClient.Rest rest) {
		byte[] bytes = rest.bytes();
		ByteArrayOutputStream payload = new ByteArrayOutputStream(bytes.length);
		int at = 0;
		while (true) {
			int lineEnd = indexOfCrlf(bytes, at);
			if (lineEnd < 0) {
				return new RawAnswer(status, payload.toByteArray(), false, rest.ending());
			}
			String sizeLine = new String(bytes, at, lineEnd - at, StandardCharsets.US_ASCII);
			int extension = sizeLine.indexOf(';');
			int size = Integer.parseInt(((extension >= 0) ? sizeLine.substring(0, extension) : sizeLine).trim(), 16);
			at = lineEnd + 2;
			if (size == 0) {
				// The final chunk, then an empty trailer section.
				boolean complete = bytes.length >= at + 2 && bytes[at] == '\r' && bytes[at + 1] == '\n';
				return new RawAnswer(status, payload.toByteArray(), complete, rest.ending());
			}
			int available = Math.min(size, bytes.length - at);
			payload.write(bytes, at, available);
			if (available < size) {
				return new RawAnswer(status, payload.toByteArray(), false, rest.ending());
			}
			at += size + 2;
		}
	}

	private static int indexOfCrlf(byte[] bytes, int from) {
		for (int i = from; i < bytes.length - 1; i++) {
			if (bytes[i] == '\r' && bytes[i + 1] == '\n') {
				return i;
			}
		}
		return -1;
	}

}
