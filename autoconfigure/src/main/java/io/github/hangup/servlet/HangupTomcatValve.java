package io.github.hangup.servlet;

import java.io.IOException;
import java.util.function.BooleanSupplier;

import jakarta.servlet.ServletException;
import org.apache.catalina.LifecycleException;
import org.apache.catalina.connector.Request;
import org.apache.catalina.connector.Response;
import org.apache.catalina.valves.ValveBase;
import org.apache.coyote.ActionCode;

/**
 * Lets Hangup cut a committed response on Tomcat the way Tomcat cuts one whose processing
 * failed: what was written so far is sent, then the connection is closed at once, so that
 * a chunked body lacks its final chunk and a body with a {@code Content-Length} is short.
 * Offers the abort to {@link HangupHandlerExceptionResolver} while the request is served,
 * which then swallows the error instead of letting it reach Tomcat's ERROR log.
 * <p>
 * Also watches the connection of each asynchronous HTTP/1.1 request while it waits, which
 * Tomcat does not: a client leaving a {@code DeferredResult}, a {@code Callable} or an
 * event stream that writes nothing is found within a quarter of a second, and the
 * request's asynchronous listeners get {@code onError} as for a write that failed. A
 * synchronous request's connection is watched while the request waits on its calls, which
 * are stopped when its client is found gone.
 *
 * @since 0.3.0
 */
public final class HangupTomcatValve extends ValveBase {

	private final TomcatConnectionWatch watch = new TomcatConnectionWatch();

	/**
	 * Create the valve.
	 */
	public HangupTomcatValve() {
		super(true);
	}

	@Override
	public void invoke(Request request, Response response) throws IOException, ServletException {
		request.setAttribute(ServletHangups.ABORT_ATTRIBUTE,
				(ServletHangups.InboundAbort) (cause) -> abort(response, cause));
		// Whether the head went out: a response Tomcat suspended with sendError(400) for
		// a failed read of the request body counts as committed, though nothing was sent.
		request.setAttribute(ServletHangups.SENT_ATTRIBUTE,
				(BooleanSupplier) () -> response.getCoyoteResponse().isCommitted());
		request.setAttribute(ServletHangups.CLOSE_ATTRIBUTE,
				(ServletHangups.InboundAbort) (cause) -> close(response, cause));
		request.setAttribute(ServletHangups.WATCH_ATTRIBUTE,
				(ServletHangups.ConnectionWatch) (waiting, gone) -> this.watch.watchWaiting(request, waiting, gone));
		getNext().invoke(request, response);
		this.watch.watch(request, response);
	}

	@Override
	protected synchronized void stopInternal() throws LifecycleException {
		this.watch.stop();
		super.stopInternal();
	}

	private static void abort(Response response, Throwable cause) {
		try {
			response.flushBuffer();
		}
		catch (IOException ex) {
			// The client is gone already: closing is all that is left.
		}
		close(response, cause);
	}

	/** Close the connection at once; Tomcat sends nothing more of the response. */
	private static void close(Response response, Throwable cause) {
		// Tomcat turns the status into a 500 for any error but an I/O error: the client
		// got the status already sent, and the request's metrics must say so.
		IOException error = (cause instanceof IOException io) ? io : new IOException(cause.getMessage(), cause);
		response.getCoyoteResponse().action(ActionCode.CLOSE_NOW, error);
	}

}
