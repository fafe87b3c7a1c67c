package io.github.hangup.client.blocking;

import java.io.Closeable;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.http.HttpTimeoutException;

import io.github.hangup.HangupException;
import org.jspecify.annotations.Nullable;

import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.client.ClientHttpResponse;

/**
 * The response of a {@link BlockingCall}: its body's failures are the call's hang-ups
 * during the response, its end or close the end of the call.
 */
final class TrackedClientHttpResponse implements ClientHttpResponse {

	/**
	 * Spring's response for the JDK's {@code HttpClient}, whose read timeout closes the
	 * body under its reader: the reader then fails with a bare
	 * {@code IOException("closed")}.
	 */
	private static final String JDK_RESPONSE = "org.springframework.http.client.JdkClientHttpResponse";

	private final ClientHttpResponse response;

	private final boolean jdk;

	/**
	 * The caller closed the response: a read failing after that is the caller's doing.
	 */
	private volatile boolean closed;

	private final BlockingCall call;

	private volatile @Nullable InputStream body;

	/** The factory's read timeout in nanoseconds, 0 if unknown. */
	private final long readTimeoutNanos;

	/** When the body last gave bytes, or the response arrived. */
	private volatile long lastRead = System.nanoTime();

	TrackedClientHttpResponse(ClientHttpResponse response, BlockingCall call) {
		this(response, call, 0);
	}

	TrackedClientHttpResponse(ClientHttpResponse response, BlockingCall call, long readTimeoutNanos) {
		this.readTimeoutNanos = readTimeoutNanos;
		this.response = response;
		this.call = call;
		this.jdk = response.getClass().getName().equals(JDK_RESPONSE);
	}

	/**
	 * The body to close when the call stops while its body is read: the JDK
	 * {@code HttpClient}'s body stream, whose close from another thread cancels the
	 * exchange, closes its connection and wakes its reader. Other factories' responses
	 * drain or consume their body when closed, which a stopped call must not wait for:
	 * they are not closed so.
	 */
	static @Nullable Closeable closeableBody(ClientHttpResponse response) {
		if (!response.getClass().getName().equals(JDK_RESPONSE)) {
			return null;
		}
		try {
			// Spring's JDK response hands out the stream it holds, made when the head
			// arrived.
			return response.getBody();
		}
		catch (IOException ex) {
			return null;
		}
	}

	/**
	 * Give up a response nobody will read: its exchange aborted through the hook of the
	 * factory's client, or its body closed without draining where the factory allows it.
	 */
	static void abort(ClientHttpResponse response, BlockingCall call) {
		Closeable body = closeableBody(response);
		if (body == null) {
			boolean aborted = call.abortExchange();
			try {
				// Once aborted, what the close would drain fails at once.
				response.close();
			}
			catch (RuntimeException ex) {
				if (!aborted) {
					throw ex;
				}
			}
			return;
		}
		try {
			body.close();
		}
		catch (IOException ex) {
			// Closed as far as it goes.
		}
	}

	@Override
	public HttpStatusCode getStatusCode() throws IOException {
		return this.response.getStatusCode();
	}

	@Override
	public String getStatusText() throws IOException {
		return this.response.getStatusText();
	}

	@Override
	public HttpHeaders getHeaders() {
		return this.response.getHeaders();
	}

	@Override
	public InputStream getBody() throws IOException {
		InputStream body = this.body;
		if (body == null) {
			try {
				body = new TrackedBody(this.response.getBody());
			}
			catch (IOException ex) {
				throw failed(ex);
			}
			catch (RuntimeException ex) {
				throw failed(ex);
			}
			this.body = body;
		}
		return body;
	}

	@Override
	public void close() {
		this.closed = true;
		try {
			this.response.close();
		}
		finally {
			// Closed before its end: the caller's choice, no hang-up.
			this.call.finish();
		}
	}

	private IOException failed(IOException ex) {
		Throwable failed = this.call.fail(isReadTimeout(ex) ? readTimeout(ex) : ex);
		// The converters and the clients know I/O errors only: the hang-up travels as the
		// cause.
		return (failed instanceof HangupException hangup) ? new IOException(hangup.getMessage(), hangup) : ex;
	}

	/**
	 * A body that failed unchecked: Reactor Netty's factory propagates its connection's
	 * failure (a read timeout, a reset) as it is.
	 * @throws IOException the hang-up as its cause, when the failure is one
	 */
	private RuntimeException failed(RuntimeException ex) throws IOException {
		if (this.call.fail(ex) instanceof HangupException hangup) {
			throw new IOException(hangup.getMessage(), hangup);
		}
		return ex;
	}

	/**
	 * Whether the JDK client's read timeout closed the body under its reader. The JDK's
	 * body also fails with {@code IOException("closed")} when its connection failed, as
	 * on a reset mid-body, but then with the connection's failure as its cause: that one
	 * is classified by its cause.
	 */
	private boolean isReadTimeout(IOException ex) {
		if (!this.jdk || this.closed || ex.getClass() != IOException.class || !"closed".equals(ex.getMessage())) {
			return false;
		}
		if (ex.getCause() == null) {
			return true;
		}
		// Newer JDKs give the close by the read timeout the connection's failure as its
		// cause too: the body was silent for the read timeout, which a failing connection
		// need not be.
		long silent = System.nanoTime() - this.lastRead;
		return this.readTimeoutNanos > 0 && silent >= this.readTimeoutNanos - this.readTimeoutNanos / 10;
	}

	private static IOException readTimeout(IOException ex) {
		HttpTimeoutException timeout = new HttpTimeoutException(
				"Response body not read in time: the read timeout closed it");
		timeout.initCause(ex);
		return timeout;
	}

	private final class TrackedBody extends FilterInputStream {

		TrackedBody(InputStream body) {
			super(body);
		}

		@Override
		public int read() throws IOException {
			try {
				int read = super.read();
				if (read == -1) {
					ended();
				}
				else {
					TrackedClientHttpResponse.this.lastRead = System.nanoTime();
				}
				return read;
			}
			catch (IOException ex) {
				throw failed(ex);
			}
			catch (RuntimeException ex) {
				throw failed(ex);
			}
		}

		@Override
		public int read(byte[] bytes, int offset, int length) throws IOException {
			try {
				int read = super.read(bytes, offset, length);
				if (read == -1) {
					ended();
				}
				else {
					TrackedClientHttpResponse.this.lastRead = System.nanoTime();
				}
				return read;
			}
			catch (IOException ex) {
				throw failed(ex);
			}
			catch (RuntimeException ex) {
				throw failed(ex);
			}
		}

		/** The body ended: at its end, or where a stop closed it under its reader. */
		private void ended() throws IOException {
			TrackedClientHttpResponse.this.call.finish();
			HangupException stopped = TrackedClientHttpResponse.this.call.stopped();
			if (stopped != null) {
				throw new IOException(stopped.getMessage(), stopped);
			}
		}

		@Override
		public long skip(long count) throws IOException {
			try {
				return super.skip(count);
			}
			catch (IOException ex) {
				throw failed(ex);
			}
			catch (RuntimeException ex) {
				throw failed(ex);
			}
		}

	}

}
