package io.github.hangup.servlet;

import java.nio.channels.SocketChannel;

import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpVersion;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.server.ConnectionMetaData;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.jspecify.annotations.Nullable;

/**
 * Lets Hangup watch, on Jetty, the connection of an HTTP/1.1 request while the request
 * waits on its calls and writes nothing, synchronous or asynchronous: Jetty finds its
 * client gone only at a write. The request's calls are stopped within a quarter of a
 * second of its client leaving (see {@link JettyConnectionWatch}). Also offers to close
 * the connection of a request whose client is gone without sending anything more.
 * Installed by Hangup's auto-configuration around Jetty's handlers.
 *
 * @since 0.3.0
 */
public final class HangupJettyHandler extends Handler.Wrapper {

	private final JettyConnectionWatch watch = new JettyConnectionWatch();

	/**
	 * Create the handler around the given one.
	 * @param handler Jetty's handler, which serves the requests
	 */
	public HangupJettyHandler(Handler handler) {
		super(handler);
	}

	@Override
	public boolean handle(Request request, Response response, Callback callback) throws Exception {
		SocketChannel channel = channel(request);
		if (channel == null) {
			return super.handle(request, response, callback);
		}
		WatchedRequest watched = new WatchedRequest(request, channel, this.watch);
		Callback ending = new Callback.Nested(callback) {

			@Override
			public void succeeded() {
				// Before Jetty may recycle the request, which a look reads.
				watched.end();
				super.succeeded();
			}

			@Override
			public void failed(Throwable cause) {
				watched.end();
				super.failed(cause);
			}

		};
		boolean handled = false;
		try {
			handled = super.handle(watched, response, ending);
			return handled;
		}
		finally {
			if (!handled) {
				watched.end();
			}
		}
	}

	@Override
	protected void doStop() throws Exception {
		this.watch.stop();
		super.doStop();
	}

	/**
	 * The connection of a request of its own: an HTTP/2 stream shares it with others.
	 */
	private static @Nullable SocketChannel channel(Request request) {
		ConnectionMetaData connection = request.getConnectionMetaData();
		HttpVersion version = connection.getHttpVersion();
		if (version != HttpVersion.HTTP_1_1 && version != HttpVersion.HTTP_1_0) {
			return null;
		}
		EndPoint endPoint = connection.getConnection().getEndPoint();
		return (endPoint.getTransport() instanceof SocketChannel channel) ? channel : null;
	}

	/** A request whose connection is watched, which tells when its body was read. */
	private static final class WatchedRequest extends Request.Wrapper {

		private final JettyConnectionWatch watch;

		private final SocketChannel channel;

		private final long length;

		/** Bytes of the body read so far; on the reading thread only. */
		private long read;

		private volatile boolean bodyRead;

		private volatile JettyConnectionWatch.@Nullable Watched watched;

		private volatile boolean ended;

		WatchedRequest(Request request, SocketChannel channel, JettyConnectionWatch watch) {
			super(request);
			this.watch = watch;
			this.channel = channel;
			// No body to read without a length or a chunked transfer coding.
			boolean chunked = request.getHeaders().contains(HttpHeader.TRANSFER_ENCODING);
			this.length = chunked ? -1 : request.getLength();
			this.bodyRead = !chunked && this.length <= 0;
			EndPoint endPoint = request.getConnectionMetaData().getConnection().getEndPoint();
			setAttribute(ServletHangups.WATCH_ATTRIBUTE, (ServletHangups.ConnectionWatch) this::watch);
			ServletHangups.InboundAbort close = endPoint::close;
			setAttribute(ServletHangups.CLOSE_ATTRIBUTE, close);
			// A committed response of a synchronous request cut by Hangup: what was
			// written
			// went out (the resolver flushed it), and closing the connection ends it
			// without
			// Jetty taking the failure for its own (a WARN line with a stack trace per
			// cut).
			setAttribute(ServletHangups.SYNC_ABORT_ATTRIBUTE, close);
		}

		@Override
		public Content.@Nullable Chunk read() {
			Content.Chunk chunk = super.read();
			if (chunk != null && !this.bodyRead) {
				// Jetty's servlet input stops at the length without reading the last
				// chunk.
				this.read += chunk.remaining();
				if (chunk.isLast() || Content.Chunk.isFailure(chunk)
						|| (this.length >= 0 && this.read >= this.length)) {
					this.bodyRead = true;
				}
			}
			return chunk;
		}

		/**
		 * Watched until the request's response completes, which is also when an
		 * asynchronous request ends: the end returned to the filter does nothing.
		 */
		private @Nullable Runnable watch(java.util.function.BooleanSupplier waiting, Runnable gone) {
			if (this.watched != null || this.ended) {
				return null;
			}
			JettyConnectionWatch.Watched watched = this.watch.watch(this.channel, () -> this.bodyRead, waiting, gone);
			if (watched == null) {
				return null;
			}
			this.watched = watched;
			if (this.ended) {
				// The response completed meanwhile.
				watched.end();
			}
			return WatchedRequest::noop;
		}

		void end() {
			this.ended = true;
			JettyConnectionWatch.Watched watched = this.watched;
			if (watched != null) {
				watched.end();
			}
		}

		private static void noop() {
		}

	}

}
