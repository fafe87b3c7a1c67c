package io.github.hangup.servlet;

import java.io.EOFException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

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
import org.springframework.http.HttpHeaders;
import org.springframework.web.context.request.async.WebAsyncManager;
import org.springframework.web.context.request.async.WebAsyncUtils;
import org.springframework.web.filter.OncePerRequestFilter;

/**
 * Opens an {@link InboundScope} for every inbound request and makes it current on the
 * threads that serve it, so that the outbound calls made there join it. A client found
 * gone by the time an error leaves the request's handling is recorded once as
 * {@link HangupKind#CLIENT_CANCEL} and its error swallowed: nothing can be sent, and it
 * is not worth an ERROR log.
 *
 * @since 0.3.0
 */
public final class HangupServletFilter extends OncePerRequestFilter implements Ordered {

	/**
	 * Order of this filter: early, right after Boot's observation filter, so that the
	 * scope covers the whole request and is still there when the request's observation
	 * ends.
	 */
	public static final int ORDER = Ordered.HIGHEST_PRECEDENCE + 10;

	private final ServletHangups hangups;

	/** The requests in flight, for a shutdown to close. */
	private final Set<InFlight> inFlight = ConcurrentHashMap.newKeySet();

	/**
	 * Create a filter.
	 * @param hangups records inbound hang-ups
	 */
	public HangupServletFilter(ServletHangups hangups) {
		this.hangups = hangups;
	}

	/**
	 * Return the number of requests currently being served under a scope (asynchronous
	 * ones until they complete).
	 * @return the open scopes
	 */
	public int openScopes() {
		return this.inFlight.size();
	}

	/**
	 * Close the requests still in flight, as a shutdown does once its grace period is
	 * over: each is recorded once as {@link HangupKind#SERVER_CLOSE} and its outbound
	 * calls are stopped, so that the threads waiting on them answer {@code 503} (or cut a
	 * response already begun) while the web server still runs.
	 * @return completes when every request closed has ended
	 */
	List<CompletableFuture<Void>> closeInFlight() {
		List<CompletableFuture<Void>> closed = new ArrayList<>();
		for (InFlight request : this.inFlight) {
			if (!request.scope.isClientGone()) {
				this.hangups.serverClosing(request.request, request.response, request.scope);
				closed.add(request.ended);
			}
		}
		return closed;
	}

	@Override
	protected boolean shouldNotFilterAsyncDispatch() {
		// The request's code goes on on another thread: its calls must find the scope
		// there too.
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
		InFlight flight;
		Runnable unwatch = null;
		if (initial) {
			scope = new InboundScope();
			request.setAttribute(InboundScope.ATTRIBUTE, scope);
			flight = new InFlight(request, response, scope);
			request.setAttribute(InFlight.ATTRIBUTE, flight);
			this.inFlight.add(flight);
			async = new AsyncScopeRequest(request, response, scope, this);
			request.setAttribute(AsyncScopeRequest.ATTRIBUTE, async);
			served = async;
			WatchedResponse watched = new WatchedResponse(request, response, scope, this.hangups);
			answered = watched;
			unwatch = watch(request, watched, scope);
		}
		else {
			scope = ServletHangups.scope(request);
			flight = (request.getAttribute(InFlight.ATTRIBUTE) instanceof InFlight known) ? known : null;
			async = (request.getAttribute(AsyncScopeRequest.ATTRIBUTE) instanceof AsyncScopeRequest known) ? known
					: null;
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
			ServletHangups.closeConnection(request, ex);
		}
		finally {
			if (unwatch != null) {
				unwatch.run();
			}
			InboundScopes.restore(previous);
			if (!request.isAsyncStarted()) {
				ended(scope, flight);
			}
			else {
				AsyncContext context = request.getAsyncContext();
				if (async == null || !async.takeListening()) {
					// After Spring MVC's listener: see AsyncScopeRequest.
					context.addListener(new ScopeListener(request, response, scope, flight, this));
				}
				// After Spring MVC's own listener, added as the request went async.
				context.addListener(new StopListener(request, scope));
			}
		}
	}

	/**
	 * Have the container watch the request's connection while the request waits on its
	 * calls, if it offers to: it would otherwise find its client gone only at a write,
	 * after the calls ended.
	 */
	private @Nullable Runnable watch(HttpServletRequest request, WatchedResponse response, InboundScope scope) {
		if (!(request.getAttribute(ServletHangups.WATCH_ATTRIBUTE) instanceof ServletHangups.ConnectionWatch watch)) {
			return null;
		}
		return watch.watch(() -> InboundScopes.participants(scope) > 0, () -> {
			// A client that read a whole response of known length and closed before its
			// call ended (its relay had yet to read the upstream body's end) got its
			// answer: it did not leave.
			if (!response.isComplete()) {
				this.hangups.clientGone(request, (HttpServletResponse) response.getResponse(), scope,
						new EOFException("Client closed the connection"));
			}
		});
	}

	@Override
	public int getOrder() {
		return ORDER;
	}

	private void ended(InboundScope scope, @Nullable InFlight flight) {
		InboundScopes.close(scope);
		if (flight != null) {
			this.inFlight.remove(flight);
			flight.ended.complete(null);
		}
	}

	/** A request in flight, with what a shutdown needs to close it. */
	private static final class InFlight {

		static final String ATTRIBUTE = InFlight.class.getName();

		final HttpServletRequest request;

		final HttpServletResponse response;

		final InboundScope scope;

		final CompletableFuture<Void> ended = new CompletableFuture<>();

		InFlight(HttpServletRequest request, HttpServletResponse response, InboundScope scope) {
			this.request = request;
			this.response = response;
			this.scope = scope;
		}

	}

	/**
	 * Finds the client gone at the write that fails, on the writing thread, before the
	 * error unwinds: the request's calls stop at once, instead of after whatever the
	 * error passes through on its way out (a client closing the upstream response it
	 * relayed drains it). Containers notice a client leaving only when a write fails, or,
	 * asynchronously, when they tell the request's listeners.
	 */
	private static final class WatchedResponse extends HttpServletResponseWrapper {

		private final HttpServletRequest request;

		private final InboundScope scope;

		private final ServletHangups hangups;

		private @Nullable WatchedOutputStream output;

		/** Bytes written to the output stream; by the writing thread only. */
		private volatile long written;

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

		@Override
		public void flushBuffer() throws IOException {
			// How Spring's emitters send each event: past the output stream.
			try {
				super.flushBuffer();
			}
			catch (IOException ex) {
				throw failed(ex);
			}
		}

		void wrote(int bytes) {
			this.written += bytes;
		}

		/** Whether the response has a length and all of it was written. */
		boolean isComplete() {
			String length = getHeader(HttpHeaders.CONTENT_LENGTH);
			try {
				return length != null && this.written >= Long.parseLong(length.trim());
			}
			catch (NumberFormatException ex) {
				return false;
			}
		}

		IOException failed(IOException ex) {
			if (this.hangups.classify(ex) == HangupKind.CLIENT_CANCEL) {
				this.hangups.clientGone(this.request, (HttpServletResponse) getResponse(), this.scope, ex);
				if (this.request.getAttribute(ServletHangups.ABORT_ATTRIBUTE) == null) {
					end(this.request);
				}
			}
			return ex;
		}

		/**
		 * End an asynchronous request whose write found the client gone, on a container
		 * that does not tell the request's listeners (Jetty; Tomcat does, and its valve
		 * is there): Spring MVC waits for that word to end an emitter's request, which
		 * would otherwise live on until its timeout, if it has one.
		 */
		private static void end(HttpServletRequest request) {
			try {
				if (request.isAsyncStarted()) {
					request.getAsyncContext().complete();
				}
			}
			catch (IllegalStateException ex) {
				// Ended in the meantime, or the container's error notification is under
				// way: Tomcat then refuses an application thread even the question.
			}
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
				this.response.wrote(1);
			}
			catch (IOException ex) {
				throw this.response.failed(ex);
			}
		}

		@Override
		public void write(byte[] bytes, int offset, int length) throws IOException {
			try {
				this.delegate.write(bytes, offset, length);
				this.response.wrote(length);
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
	 * Listens to a request whose {@code Callable} (a {@code WebAsyncTask}, a
	 * {@code StreamingResponseBody}) is about to run from the moment it goes
	 * asynchronous, before Spring MVC's own listener: Spring cancels the task on an error
	 * with an interrupt, which the task's calls would take for a failure of their own, so
	 * they are stopped first. Other asynchronous requests are listened to after Spring's
	 * listener, once the chain returned: from the moment one listener returned from
	 * {@code onError}, Tomcat refuses the request's {@code AsyncContext} to application
	 * threads, and a listener ahead of Spring's would open that window earlier than
	 * without Hangup (a {@code DeferredResult.setResult} that would have dispatched
	 * throws).
	 */
	private static final class AsyncScopeRequest extends HttpServletRequestWrapper {

		private final HttpServletResponse response;

		private final InboundScope scope;

		private final HangupServletFilter filter;

		static final String ATTRIBUTE = AsyncScopeRequest.class.getName();

		/**
		 * Whether a listener was added as the request last went asynchronous: only used
		 * on the request's thread, which starts asynchronous processing and then returns
		 * through the chain.
		 */
		private boolean listening;

		AsyncScopeRequest(HttpServletRequest request, HttpServletResponse response, InboundScope scope,
				HangupServletFilter filter) {
			super(request);
			this.response = response;
			this.scope = scope;
			this.filter = filter;
		}

		@Override
		public AsyncContext startAsync() {
			return listen(super.startAsync());
		}

		@Override
		public AsyncContext startAsync(ServletRequest request, ServletResponse response) {
			return listen(super.startAsync(request, response));
		}

		/**
		 * Each start of asynchronous processing drops the listeners of the one before:
		 * added each time.
		 */
		private AsyncContext listen(AsyncContext context) {
			HttpServletRequest request = (HttpServletRequest) getRequest();
			if (HangupCallableProcessingInterceptor.takeTaskStarting(request)) {
				this.listening = true;
				Object flight = request.getAttribute(InFlight.ATTRIBUTE);
				context.addListener(new ScopeListener(request, this.response, this.scope,
						(flight instanceof InFlight known) ? known : null, this.filter));
			}
			return context;
		}

		/**
		 * Whether a listener was added as the request last went asynchronous; the next
		 * start is asked again.
		 */
		boolean takeListening() {
			boolean listening = this.listening;
			this.listening = false;
			return listening;
		}

	}

	/**
	 * Ends the scope of an asynchronous request when the container completes it, and
	 * records its client leaving when the container reports the connection lost while it
	 * waits.
	 */
	private static final class ScopeListener implements AsyncListener {

		private final HttpServletRequest request;

		private final HttpServletResponse response;

		private final InboundScope scope;

		private final @Nullable InFlight flight;

		private final HangupServletFilter filter;

		ScopeListener(HttpServletRequest request, HttpServletResponse response, InboundScope scope,
				@Nullable InFlight flight, HangupServletFilter filter) {
			this.request = request;
			this.response = response;
			this.scope = scope;
			this.flight = flight;
			this.filter = filter;
		}

		@Override
		public void onComplete(AsyncEvent event) {
			this.filter.ended(this.scope, this.flight);
		}

		@Override
		public void onTimeout(AsyncEvent event) {
		}

		@Override
		public void onError(AsyncEvent event) {
			// The container reports an error of the request's own connection: Tomcat when
			// its poller finds the connection closed, or a write failing. Only an
			// outbound call's hang-up carried this far is the upstream's.
			Throwable error = event.getThrowable();
			if (error == null || ServletHangups.upstream(error) == null) {
				if (HangupCallableProcessingInterceptor.isTaskRunning(this.request)) {
					// Spring MVC is about to interrupt the task: its calls must be
					// stopped first, or they take the interrupt for a failure of their
					// own.
					this.filter.hangups.clientGone(this.request, this.response, this.scope, error);
				}
				else {
					// Stopped by the StopListener, once Spring MVC has ended the request.
					this.filter.hangups.markClientGone(this.request, this.response, this.scope, error);
				}
			}
		}

		@Override
		public void onStartAsync(AsyncEvent event) {
		}

	}

	/**
	 * Stops the calls of an asynchronous request whose client the container found gone,
	 * once Spring MVC has handled the error: Spring ends the request then, and the
	 * application's threads the stop releases find it ended. Released before, a thread
	 * that ends the request itself ({@code DeferredResult.setErrorResult},
	 * {@code ResponseBodyEmitter.completeWithError}) races with Spring, and loses with an
	 * {@code IllegalStateException} from Tomcat once the container's error notification
	 * is over.
	 */
	private static final class StopListener implements AsyncListener {

		private final HttpServletRequest request;

		private final InboundScope scope;

		StopListener(HttpServletRequest request, InboundScope scope) {
			this.request = request;
			this.scope = scope;
		}

		@Override
		public void onError(AsyncEvent event) {
			ServletHangups.stopCalls(this.scope);
			redispatchLostResult(event.getAsyncContext());
		}

		/**
		 * Dispatches a request whose result is set but which nobody dispatched. Once one
		 * of the request's listeners returned from {@code onError}, Tomcat refuses an
		 * application thread's dispatch. Hangup's {@link ScopeListener} returns before
		 * Spring MVC's listener is called: a task that sets its result in between (its
		 * write to the client gone failed) has its dispatch refused, and Spring, finding
		 * the result set, does not dispatch either. Tomcat would then answer with its
		 * error page, and the request would be recorded as {@code /error}. This runs on
		 * the container's thread, which may dispatch.
		 */
		private void redispatchLostResult(AsyncContext context) {
			ServletRequest request = this.request;
			if (request.isAsyncStarted()
					&& request
						.getAttribute(WebAsyncUtils.WEB_ASYNC_MANAGER_ATTRIBUTE) instanceof WebAsyncManager manager
					&& manager.hasConcurrentResult()) {
				try {
					context.dispatch();
				}
				catch (IllegalStateException ex) {
					// Dispatched or completed in the meantime.
				}
			}
		}

		@Override
		public void onComplete(AsyncEvent event) {
			// A request that ended after its client left keeps no call running.
			ServletHangups.stopCalls(this.scope);
		}

		@Override
		public void onTimeout(AsyncEvent event) {
		}

		@Override
		public void onStartAsync(AsyncEvent event) {
		}

	}

}
