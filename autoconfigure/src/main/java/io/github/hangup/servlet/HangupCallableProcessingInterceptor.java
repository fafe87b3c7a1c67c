package io.github.hangup.servlet;

import java.util.concurrent.Callable;

import io.github.hangup.server.InboundScope;
import io.github.hangup.server.InboundScopes;
import jakarta.servlet.http.HttpServletRequest;
import org.jspecify.annotations.Nullable;

import org.springframework.web.context.request.NativeWebRequest;
import org.springframework.web.context.request.RequestAttributes;
import org.springframework.web.context.request.async.CallableProcessingInterceptor;

/**
 * Makes the request's {@link InboundScope} current on the thread that runs a handler's
 * {@code Callable}, {@code WebAsyncTask} or {@code StreamingResponseBody}, so that the
 * outbound calls made there join the request and stop when its client leaves, without any
 * context propagation set up by the application.
 *
 * @since 0.3.0
 */
public final class HangupCallableProcessingInterceptor implements CallableProcessingInterceptor {

	/**
	 * Request attribute holding the scope that was current on the task's thread before
	 * it.
	 */
	private static final String PREVIOUS_ATTRIBUTE = HangupCallableProcessingInterceptor.class.getName() + ".previous";

	/** Request attribute set while a task is about to start. */
	private static final String STARTING_ATTRIBUTE = HangupCallableProcessingInterceptor.class.getName() + ".starting";

	/** Held in place of the scope that was current before when there was none. */
	private static final Object NONE = new Object();

	/**
	 * Create the interceptor.
	 */
	public HangupCallableProcessingInterceptor() {
	}

	/**
	 * Whether a task of the request runs now, on a thread of MVC's executor: Spring MVC
	 * cancels it, with an interrupt, when the container reports an error.
	 */
	static boolean isTaskRunning(HttpServletRequest request) {
		return request.getAttribute(PREVIOUS_ATTRIBUTE) != null;
	}

	/**
	 * Whether the request goes asynchronous for a task about to start, asked once per
	 * start: Spring MVC calls {@link #beforeConcurrentHandling} just before.
	 */
	static boolean takeTaskStarting(HttpServletRequest request) {
		if (request.getAttribute(STARTING_ATTRIBUTE) == null) {
			return false;
		}
		request.removeAttribute(STARTING_ATTRIBUTE);
		return true;
	}

	@Override
	public <T> void beforeConcurrentHandling(NativeWebRequest request, Callable<T> task) {
		request.setAttribute(STARTING_ATTRIBUTE, Boolean.TRUE, RequestAttributes.SCOPE_REQUEST);
	}

	@Override
	public <T> void preProcess(NativeWebRequest request, Callable<T> task) {
		Object scope = request.getAttribute(InboundScope.ATTRIBUTE, RequestAttributes.SCOPE_REQUEST);
		if (scope instanceof InboundScope inbound) {
			InboundScope previous = InboundScopes.makeCurrent(inbound);
			request.setAttribute(PREVIOUS_ATTRIBUTE, (previous != null) ? previous : NONE,
					RequestAttributes.SCOPE_REQUEST);
		}
	}

	@Override
	public <T> void postProcess(NativeWebRequest request, Callable<T> task, @Nullable Object concurrentResult) {
		// On the task's thread again: a pooled thread gets back the nothing it had, a
		// thread that ran the task in place (a synchronous executor) the scope it had.
		Object previous = request.getAttribute(PREVIOUS_ATTRIBUTE, RequestAttributes.SCOPE_REQUEST);
		if (previous == null) {
			// The request had no scope: nothing was made current.
			return;
		}
		request.removeAttribute(PREVIOUS_ATTRIBUTE, RequestAttributes.SCOPE_REQUEST);
		InboundScopes.restore((previous instanceof InboundScope inbound) ? inbound : null);
	}

}
