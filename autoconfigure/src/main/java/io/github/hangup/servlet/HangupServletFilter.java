package io.github.hangup.servlet;

import java.io.IOException;

import io.github.hangup.HangupKind;
import io.github.hangup.server.InboundScope;
import io.github.hangup.server.InboundScopes;
import jakarta.servlet.AsyncEvent;
import jakarta.servlet.AsyncListener;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;

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
		if (initial) {
			scope = new InboundScope();
			request.setAttribute(InboundScope.ATTRIBUTE, scope);
		}
		else {
			scope = ServletHangups.scope(request);
		}
		InboundScope previous = InboundScopes.makeCurrent(scope);
		try {
			chain.doFilter(request, response);
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
			else if (initial) {
				request.getAsyncContext().addListener(new ScopeListener(scope));
			}
		}
	}

	@Override
	public int getOrder() {
		return ORDER;
	}

	/**
	 * Ends the scope of an asynchronous request when the container completes it.
	 */
	private static final class ScopeListener implements AsyncListener {

		private final InboundScope scope;

		ScopeListener(InboundScope scope) {
			this.scope = scope;
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
		}

		@Override
		public void onStartAsync(AsyncEvent event) {
		}

	}

}
