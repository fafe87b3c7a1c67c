package io.github.hangup.servlet;

import java.io.IOException;

import io.github.hangup.HangupKind;
import io.github.hangup.server.InboundScope;
import io.github.hangup.server.InboundScopes;
import jakarta.servlet.AsyncContext;
import jakarta.servlet.AsyncEvent;
import jakarta.servlet.AsyncListener;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletOutputStream;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.WriteListener;
import jakarta.servlet.http.HttpServletRequestWrapper;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.servlet.http.HttpServletResponseWrapper;
import org.jspecify.annotations.Nullable;

import org.springframework.core.Ordered;
import org.springframework.web.filter.OncePerRequestFilter;

/**
 * Opens an {@link InboundScope} for every inbound request and makes it current on the
 * threads that serve it, so that the outbound calls made there join it. A client found gone
 * by the time an error leaves the request's handling is recorded once as
 * {@link HangupKind#CLIENT_CANCEL} and its error swallowed: nothing can be sent, and it is
 * not worth an ERROR log.
 *
 * @since 0.3.0
 */
public final class HangupServletFilter extends OncePerRequestFilter implements Ordered {

	/**
	 * Order of this filter: early, right after Boot's observation filter, so that the scope
	 * covers the whole request and is still there when the request's observation ends.
	 */
	public static final int ORDER = Ordered.HIGHEST_PRECEDENCE + 10;

	private final ServletHangups hangups;

	/**
	 * Create a filter.
	 * @param hangups records inbound hang-ups
	 */
	public HangupServletFilter(ServletHangups hangups) {
		this.hangups = hangups;
	}

	@Override
	protected boolean shouldNotFilterAsyncDispatch() {
		// The request's code goes on on another thread: its calls must find the scope there too.
		return false;
	}

	@Override
	protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
			throws ServletException, IOException {
		boolean initial = !isAsyncDispatch(request);
		InboundScope scope;
		HttpServletRequest served = request;
		HttpServletResponse answered = response;
		AsyncScopeRequest async = null;
		if (initial) {
			scope = new InboundScope();
			request.setAttribute(InboundScope.ATTRIBUTE, scope);
			async = new AsyncScopeRequest(request, response, scope, this.hangups);
			served = async;
			answered = new WatchedResponse(request, response, scope, this.hangups);
		}
		else {
			scope = ServletHangups.scope(request);
		}
		InboundScope previous = InboundScopes.makeCurrent(scope);
		try {
			chain.doFilter(served, answered);
		}
		catch (IOException | ServletException | RuntimeException ex) {
			if (this.hangups.classify(ex) != HangupKind.CLIENT_CANCEL) {
				throw ex;
			}
			this.hangups.clientGone(request, response, scope, ex);
		}
		finally {
			InboundScopes.restore(previous);
			if (!request.isAsyncStarted()) {
				InboundScopes.close(scope);
			}
			else if (async != null && !async.listening) {
				// Went asynchronous without this request's startAsync: listened to from now.
				request.getAsyncContext().addListener(new ScopeListener(request, response, scope, this.hangups));
			}
		}
	}

	@Override
	public int getOrder() {
		return ORDER;
	}

	/**
	 * Finds the client gone at the write that fails, on the writing thread, before the error
	 * unwinds: the request's calls stop at once, instead of after whatever the error passes
	 * through on its way out (a client closing the upstream response it relayed drains it).
	 * Containers notice a client leaving only when a write fails, or, asynchronously, when
	 * they tell the request's listeners.
	 */
	private static final class WatchedResponse extends HttpServletResponseWrapper {

		private final HttpServletRequest request;

		private final InboundScope scope;

		private final ServletHangups hangups;

		private @Nullable WatchedOutputStream output;

		WatchedResponse(HttpServletRequest request, HttpServletResponse response, InboundScope scope,
				ServletHangups hangups) {
			super(response);
			this.request = request;
			this.scope = scope;
			this.hangups = hangups;
		}

		@Override
		public ServletOutputStream getOutputStream() throws IOException {
			ServletOutputStream delegate = super.getOutputStream();
			WatchedOutputStream output = this.output;
			if (output == null || output.delegate != delegate) {
				output = new WatchedOutputStream(delegate, this);
				this.output = output;
			}
			return output;
		}

		IOException failed(IOException ex) {
			if (this.hangups.classify(ex) == HangupKind.CLIENT_CANCEL) {
				this.hangups.clientGone(this.request, (HttpServletResponse) getResponse(), this.scope, ex);
			}
			return ex;
		}

	}

	private static final class WatchedOutputStream extends ServletOutputStream {

		final ServletOutputStream delegate;

		private final WatchedResponse response;

		WatchedOutputStream(ServletOutputStream delegate, WatchedResponse response) {
			this.delegate = delegate;
			this.response = response;
		}

		@Override
		public void write(int b) throws IOException {
			try {
				this.delegate.write(b);
			}
			catch (IOException ex) {
				throw this.response.failed(ex);
			}
		}

		@Override
		public void write(byte[] bytes, int offset, int length) throws IOException {
			try {
				this.delegate.write(bytes, offset, length);
			}
			catch (IOException ex) {
				throw this.response.failed(ex);
			}
		}

		@Override
		public void flush() throws IOException {
			try {
				this.delegate.flush();
			}
			catch (IOException ex) {
				throw this.response.failed(ex);
			}
		}

		@Override
		public void close() throws IOException {
			try {
				this.delegate.close();
			}
			catch (IOException ex) {
				throw this.response.failed(ex);
			}
		}

		@Override
		public boolean isReady() {
			return this.delegate.isReady();
		}

		@Override
		public void setWriteListener(WriteListener listener) {
			this.delegate.setWriteListener(listener);
		}

	}

	/**
	 * Listens to the request from the moment it goes asynchronous, before Spring MVC's own
	 * listener is added: a client leaving is then known to the scope, its calls stopped and
	 * the hang-up recorded, before Spring acts on the error (it cancels a {@code Callable}'s
	 * task, which the task's calls would otherwise take for a failure of their own).
	 */
	private static final class AsyncScopeRequest extends HttpServletRequestWrapper {

		private final HttpServletResponse response;

		private final InboundScope scope;

		private final ServletHangups hangups;

		/** Whether a listener was added: only read on the request's thread, after the chain. */
		private boolean listening;

		AsyncScopeRequest(HttpServletRequest request, HttpServletResponse response, InboundScope scope,
				ServletHangups hangups) {
			super(request);
			this.response = response;
			this.scope = scope;
			this.hangups = hangups;
		}

		@Override
		public AsyncContext startAsync() {
			return listen(super.startAsync());
		}

		@Override
		public AsyncContext startAsync(ServletRequest request, ServletResponse response) {
			return listen(super.startAsync(request, response));
		}

		/** Each start of asynchronous processing drops the listeners of the one before: added each time. */
		private AsyncContext listen(AsyncContext context) {
			this.listening = true;
			context.addListener(new ScopeListener((HttpServletRequest) getRequest(), this.response, this.scope,
					this.hangups));
			return context;
		}

	}

	/**
	 * Ends the scope of an asynchronous request when the container completes it, and records
	 * its client leaving when the container reports the connection lost while it waits.
	 */
	private static final class ScopeListener implements AsyncListener {

		private final HttpServletRequest request;

		private final HttpServletResponse response;

		private final InboundScope scope;

		private final ServletHangups hangups;

		ScopeListener(HttpServletRequest request, HttpServletResponse response, InboundScope scope,
				ServletHangups hangups) {
			this.request = request;
			this.response = response;
			this.scope = scope;
			this.hangups = hangups;
		}

		@Override
		public void onComplete(AsyncEvent event) {
			InboundScopes.close(this.scope);
		}

		@Override
		public void onTimeout(AsyncEvent event) {
		}

		@Override
		public void onError(AsyncEvent event) {
			// The container reports an error of the request's own connection: Tomcat when its
			// poller finds the connection closed, or a write failing. Only an outbound call's
			// hang-up carried this far is the upstream's.
			Throwable error = event.getThrowable();
			if (error == null || ServletHangups.upstream(error) == null) {
				this.hangups.clientGone(this.request, this.response, this.scope, error);
			}
		}

		@Override
		public void onStartAsync(AsyncEvent event) {
		}

	}

}
