package io.github.hangup.servlet;

import java.time.Duration;
import java.util.Set;
import java.util.function.BooleanSupplier;

import io.github.hangup.HangupClassifier;
import io.github.hangup.HangupEvent;
import io.github.hangup.HangupException;
import io.github.hangup.HangupKind;
import io.github.hangup.HangupObservations;
import io.github.hangup.HangupPhase;
import io.github.hangup.HangupRecorder;
import io.github.hangup.HangupSide;
import io.github.hangup.server.InboundScope;
import io.github.hangup.server.InboundScopes;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.jspecify.annotations.Nullable;

import org.springframework.web.servlet.HandlerMapping;
import org.springframework.web.util.pattern.PathPattern;

/**
 * Inbound-side hang-up bookkeeping on the Servlet stack, shared by
 * {@link HangupServletFilter} and {@link HangupHandlerExceptionResolver}: classification
 * that keeps the client's side apart from the upstream's, the once-only recording, and
 * the route.
 *
 * @since 0.3.0
 */
public final class ServletHangups {

	/**
	 * Request attribute under which a container integration offers to abort the request's
	 * connection, as an {@link InboundAbort}.
	 */
	static final String ABORT_ATTRIBUTE = InboundAbort.class.getName();

	/**
	 * Request attribute under which a container integration offers to abort the request's
	 * connection, as an {@link InboundAbort}, only while the request is served on the
	 * thread that received it: Jetty completes an asynchronous request whose connection
	 * was closed under it without ending its observation.
	 */
	static final String SYNC_ABORT_ATTRIBUTE = ABORT_ATTRIBUTE + ".sync";

	/**
	 * Request attribute under which a container integration tells whether the response's
	 * head went out, as a {@link BooleanSupplier}: {@code isCommitted()} is also true of
	 * a response the container suspended without sending anything (Tomcat answers a
	 * failed read of the request body with {@code sendError(400)}).
	 */
	static final String SENT_ATTRIBUTE = ServletHangups.class.getName() + ".sent";

	/**
	 * Request attribute under which a container integration offers to close the request's
	 * connection without sending anything more, as an {@link InboundAbort}.
	 */
	static final String CLOSE_ATTRIBUTE = ServletHangups.class.getName() + ".close";

	/**
	 * Request attribute under which a container integration offers to watch the
	 * connection of a synchronous request, as a {@link ConnectionWatch}.
	 */
	static final String WATCH_ATTRIBUTE = ConnectionWatch.class.getName();

	/**
	 * The exceptions containers and Spring raise when the inbound client is gone, by
	 * class name so that none of their libraries is required: Tomcat's, Jetty's and
	 * Spring's own.
	 */
	private static final Set<String> CLIENT_GONE = Set.of("org.apache.catalina.connector.ClientAbortException",
			"org.eclipse.jetty.io.EofException",
			"org.springframework.web.context.request.async.AsyncRequestNotUsableException");

	private static final int MAX_DEPTH = 32;

	private final HangupClassifier classifier;

	private final HangupRecorder recorder;

	/**
	 * Create the inbound bookkeeping.
	 * @param classifier decides which errors are hang-ups
	 * @param recorder receives the hang-ups
	 */
	public ServletHangups(HangupClassifier classifier, HangupRecorder recorder) {
		this.classifier = classifier;
		this.recorder = recorder;
	}

	/**
	 * Classify an error that reached the request's handling. Only the container (or
	 * Spring, on its behalf) says the client is gone, with an exception of its own; any
	 * other lost connection came from an outbound call, whatever its message says, so
	 * that an upstream's reset is never taken for the client leaving.
	 */
	@Nullable HangupKind classify(Throwable error) {
		if (isClientGone(error)) {
			return HangupKind.CLIENT_CANCEL;
		}
		return this.classifier.classify(error, HangupSide.OUTBOUND);
	}

	private static boolean isClientGone(Throwable error) {
		int depth = 0;
		for (Throwable t = error; t != null
				&& depth < MAX_DEPTH; t = (t.getCause() != t) ? t.getCause() : null, depth++) {
			if (t instanceof HangupException) {
				// A stopped or failed outbound call, whatever the container said after
				// it.
				return false;
			}
			for (Class<?> type = t.getClass(); type != null && type != Throwable.class; type = type.getSuperclass()) {
				if (CLIENT_GONE.contains(type.getName())) {
					return true;
				}
			}
		}
		return false;
	}

	/**
	 * Close the connection of a request whose client is gone without sending the rest of
	 * its response, where the container offers to: a client that only closed its side
	 * would otherwise take a response begun for nobody (an empty 200) for the answer. On
	 * the request's thread.
	 */
	static void closeConnection(HttpServletRequest request, Throwable cause) {
		if (request.getAttribute(CLOSE_ATTRIBUTE) instanceof InboundAbort close) {
			close.abort(cause);
		}
	}

	/**
	 * The client left: record it once, as {@link HangupKind#CLIENT_CANCEL}, and stop the
	 * request's outbound calls.
	 */
	void clientGone(HttpServletRequest request, HttpServletResponse response, InboundScope scope,
			@Nullable Throwable cause) {
		// One thread at a time: a thread that finds the client gone (a write failing)
		// goes on only once the calls were stopped, also when another thread found it
		// first.
		synchronized (scope) {
			markClientGone(request, response, scope, cause);
			InboundScopes.stopRemaining(scope);
		}
	}

	/**
	 * The client left: record it once, as {@link HangupKind#CLIENT_CANCEL}, and leave the
	 * calls still running to {@link #stopCalls}.
	 */
	void markClientGone(HttpServletRequest request, HttpServletResponse response, InboundScope scope,
			@Nullable Throwable cause) {
		HangupPhase phase = phase(request, response);
		synchronized (scope) {
			Set<String> stopped = InboundScopes.ended(scope, HangupKind.CLIENT_CANCEL);
			if (InboundScopes.claimRecording(scope)) {
				String upstreams = stopped.isEmpty() ? null : String.join(", ", stopped);
				record(request, scope, HangupKind.CLIENT_CANCEL, phase, null, upstreams, cause);
			}
		}
	}

	/** Stop the calls of a request that ended early. */
	static void stopCalls(InboundScope scope) {
		if (scope.isClientGone()) {
			synchronized (scope) {
				InboundScopes.stopRemaining(scope);
			}
		}
	}

	/**
	 * This server closes the request, as a shutdown does: record it once, as
	 * {@link HangupKind#SERVER_CLOSE}, and stop the request's outbound calls.
	 */
	void serverClosing(HttpServletRequest request, HttpServletResponse response, InboundScope scope) {
		HangupPhase phase = phase(request, response);
		Set<String> stopped = InboundScopes.ended(scope, HangupKind.SERVER_CLOSE);
		if (InboundScopes.claimRecording(scope)) {
			String upstreams = stopped.isEmpty() ? null : String.join(", ", stopped);
			record(request, scope, scope.goneKind(), phase, null, upstreams, null);
		}
		InboundScopes.stopRemaining(scope);
	}

	void record(HttpServletRequest request, InboundScope scope, HangupKind kind, HangupPhase phase,
			@Nullable Integer status, @Nullable String upstream, @Nullable Throwable cause) {
		Duration elapsed = Duration.ofNanos(System.nanoTime() - InboundScopes.startNanos(scope));
		InboundScopes.recorded(scope, kind, phase);
		this.recorder.record(HangupEvent.inbound(kind, phase, HangupObservations.method(request.getMethod()), elapsed)
			.route(route(request))
			.upstream(upstream)
			.status(status)
			.cause(cause)
			.protocol(request.getProtocol())
			.connection((cause instanceof HangupException hangup) ? hangup.getConnection() : null)
			.build());
	}

	/**
	 * Return the request's scope, made on the spot when the filter did not run.
	 */
	static InboundScope scope(HttpServletRequest request) {
		Object scope = request.getAttribute(InboundScope.ATTRIBUTE);
		if (scope instanceof InboundScope inbound) {
			return inbound;
		}
		// The filter was replaced or disabled: time from now on.
		InboundScope created = new InboundScope();
		request.setAttribute(InboundScope.ATTRIBUTE, created);
		return created;
	}

	static HangupPhase phase(HttpServletRequest request, HttpServletResponse response) {
		boolean sent = (request.getAttribute(SENT_ATTRIBUTE) instanceof BooleanSupplier container)
				? container.getAsBoolean() : response.isCommitted();
		return sent ? HangupPhase.DURING_RESPONSE : HangupPhase.BEFORE_RESPONSE;
	}

	static @Nullable String upstream(Throwable error) {
		int depth = 0;
		for (Throwable t = error; t != null
				&& depth < MAX_DEPTH; t = (t.getCause() != t) ? t.getCause() : null, depth++) {
			if (t instanceof HangupException hangup) {
				return hangup.getUpstream();
			}
		}
		return null;
	}

	/**
	 * The matched route pattern, never the raw path: patterns are few, paths are not.
	 */
	static @Nullable String route(HttpServletRequest request) {
		Object pattern = request.getAttribute(HandlerMapping.BEST_MATCHING_PATTERN_ATTRIBUTE);
		if (pattern instanceof PathPattern pathPattern) {
			return pathPattern.getPatternString();
		}
		return (pattern instanceof String text) ? text : null;
	}

	/**
	 * Aborts the connection of a request whose response is committed, so that its client
	 * sees a cut instead of a body that looks complete. Offered by a container
	 * integration under {@link #ABORT_ATTRIBUTE} for as long as the request is being
	 * served.
	 */
	@FunctionalInterface
	interface InboundAbort {

		/**
		 * Send what was written so far, then close the connection at once.
		 * @param cause why
		 */
		void abort(Throwable cause);

	}

	/**
	 * Watches the connection of a synchronous request while it waits on its calls: a
	 * container finds a client gone only at a write, and a request waiting on an upstream
	 * writes nothing.
	 */
	@FunctionalInterface
	interface ConnectionWatch {

		/**
		 * Look at the request's connection every so often while {@code waiting} says that
		 * the request waits on calls, and run {@code gone} once, on the watching thread,
		 * when its client closed or reset it.
		 * @param waiting whether the request waits on calls
		 * @param gone what to do when the client is gone
		 * @return ends the watch, run on the request's thread before it returns to the
		 * container; {@code null} when the connection cannot be watched
		 */
		@Nullable Runnable watch(BooleanSupplier waiting, Runnable gone);

	}

}
