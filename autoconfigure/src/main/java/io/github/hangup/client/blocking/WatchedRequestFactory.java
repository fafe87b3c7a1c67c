package io.github.hangup.client.blocking;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.URI;
import java.util.Map;

import org.jspecify.annotations.Nullable;

import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpMethod;
import org.springframework.http.StreamingHttpOutputMessage;
import org.springframework.http.client.ClientHttpRequest;
import org.springframework.http.client.ClientHttpRequestFactory;
import org.springframework.http.client.ClientHttpResponse;

/**
 * A request factory whose requests are Hangup's outbound calls: the calls of
 * {@link HangupClientHttpRequestInterceptor}, made around the request the wrapped factory
 * creates, whose body is passed on as it is written (streamed when the factory streams).
 */
final class WatchedRequestFactory implements ClientHttpRequestFactory {

	private final ClientHttpRequestFactory delegate;

	private final HangupClientHttpRequestInterceptor calls;

	/** How long a call may wait for its response head; {@code 0} for no limit. */
	private final long headTimeoutNanos;

	WatchedRequestFactory(ClientHttpRequestFactory delegate, HangupClientHttpRequestInterceptor calls,
			long headTimeoutNanos) {
		this.delegate = delegate;
		this.calls = calls;
		this.headTimeoutNanos = headTimeoutNanos;
	}

	@Override
	public ClientHttpRequest createRequest(URI uri, HttpMethod httpMethod) throws IOException {
		return new WatchedRequest(this.delegate.createRequest(uri, httpMethod), this.calls, this.headTimeoutNanos);
	}

	private static final class WatchedRequest implements ClientHttpRequest, StreamingHttpOutputMessage {

		private final ClientHttpRequest delegate;

		private final HangupClientHttpRequestInterceptor calls;

		private final long headTimeoutNanos;

		private @Nullable Body body;

		WatchedRequest(ClientHttpRequest delegate, HangupClientHttpRequestInterceptor calls, long headTimeoutNanos) {
			this.delegate = delegate;
			this.calls = calls;
			this.headTimeoutNanos = headTimeoutNanos;
		}

		@Override
		public ClientHttpResponse execute() throws IOException {
			return this.calls.exchange(this, () -> {
				Body body = this.body;
				if (body != null) {
					body.writeTo(this.delegate.getBody());
				}
				return this.delegate.execute();
			}, this.headTimeoutNanos);
		}

		@Override
		public void setBody(Body body) {
			Body watched = new SourceWatchingBody(body, this);
			if (this.delegate instanceof StreamingHttpOutputMessage streaming) {
				streaming.setBody(watched);
			}
			else {
				// A request that buffers its body: written to it as the call is made.
				this.body = watched;
			}
		}

		/** Tell the call that the body's own source failed, not the connection. */
		void bodySourceFailed(Throwable error) {
			BlockingCall call = HangupClientHttpRequestInterceptor.CallHolder.callOf(this);
			if (call != null) {
				call.requestBodyFailed(error);
			}
		}

		@Override
		public OutputStream getBody() throws IOException {
			return this.delegate.getBody();
		}

		@Override
		public HttpMethod getMethod() {
			return this.delegate.getMethod();
		}

		@Override
		public URI getURI() {
			return this.delegate.getURI();
		}

		@Override
		public HttpHeaders getHeaders() {
			return this.delegate.getHeaders();
		}

		@Override
		public Map<String, Object> getAttributes() {
			return this.delegate.getAttributes();
		}

	}

	/**
	 * A request body whose writer tells a failure of its own source (the inbound request
	 * a relay reads its upload from, when that client left) from a failure of the
	 * connection it writes to: only the first is reported to the call, which then counts
	 * the failure as the inbound request's, not the upstream's.
	 */
	private static final class SourceWatchingBody implements StreamingHttpOutputMessage.Body {

		private final StreamingHttpOutputMessage.Body body;

		private final WatchedRequest request;

		SourceWatchingBody(StreamingHttpOutputMessage.Body body, WatchedRequest request) {
			this.body = body;
			this.request = request;
		}

		@Override
		public void writeTo(OutputStream outputStream) throws IOException {
			SinkStream sink = new SinkStream(outputStream);
			try {
				this.body.writeTo(sink);
			}
			catch (IOException | RuntimeException ex) {
				if (!sink.failed) {
					this.request.bodySourceFailed(ex);
				}
				throw ex;
			}
		}

		@Override
		public boolean repeatable() {
			return this.body.repeatable();
		}

	}

	/** The stream a body is written to, noting whether a write to it failed. */
	private static final class SinkStream extends FilterOutputStream {

		private boolean failed;

		SinkStream(OutputStream out) {
			super(out);
		}

		@Override
		public void write(int b) throws IOException {
			noting(() -> this.out.write(b));
		}

		@Override
		public void write(byte[] b, int off, int len) throws IOException {
			noting(() -> this.out.write(b, off, len));
		}

		@Override
		public void flush() throws IOException {
			noting(this.out::flush);
		}

		@Override
		public void close() throws IOException {
			noting(this.out::close);
		}

		private void noting(Write write) throws IOException {
			try {
				write.run();
			}
			catch (IOException | RuntimeException ex) {
				this.failed = true;
				throw ex;
			}
		}

		@FunctionalInterface
		private interface Write {

			void run() throws IOException;

		}

	}

}
