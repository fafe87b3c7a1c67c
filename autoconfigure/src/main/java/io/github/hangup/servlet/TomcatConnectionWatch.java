package io.github.hangup.servlet;

import java.io.EOFException;
import java.lang.reflect.Field;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.AtomicReferenceFieldUpdater;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BooleanSupplier;

import jakarta.servlet.AsyncEvent;
import jakarta.servlet.AsyncListener;
import org.apache.catalina.connector.ClientAbortException;
import org.apache.catalina.connector.Request;
import org.apache.catalina.connector.Response;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.apache.coyote.ActionCode;
import org.apache.coyote.http11.Http11InputBuffer;
import org.apache.tomcat.util.net.NioEndpoint;
import org.apache.tomcat.util.net.SocketWrapperBase;
import org.jspecify.annotations.Nullable;

/**
 * Finds the client of an asynchronous request gone while the request writes nothing.
 * Tomcat watches an asynchronous request's connection only for a non-blocking read
 * listener whose body is still to come, so a {@code DeferredResult} or {@code Callable}
 * waiting on an upstream, or an event stream between two events, learns of its client
 * leaving only at its next write. This looks at the connection of each asynchronous
 * HTTP/1.1 request every {@link #INTERVAL}, the way Tomcat itself does when asked whether
 * request data is available: a read that does not block, under the lock Tomcat holds
 * while it processes the connection, and only once the request's body was read in full,
 * so that nothing the request reads is taken from it. A closed or reset connection is
 * then an I/O error for Tomcat to handle as it handles a failed write: the request's
 * asynchronous listeners get {@code onError} and the connection is closed.
 * <p>
 * Bytes the client sends ahead (a pipelined request) are left in Tomcat's buffer for the
 * next request; the connection is then no longer watched. Only connections of Tomcat's
 * NIO connector (the one Boot configures) are watched.
 */
final class TomcatConnectionWatch {

	/** How often the connection of each asynchronous request is looked at. */
	static final Duration INTERVAL = Duration.ofMillis(250);

	private static final Log logger = LogFactory.getLog(TomcatConnectionWatch.class);

	private static final String ATTRIBUTE = TomcatConnectionWatch.class.getName();

	/**
	 * {@code Http11InputBuffer.wrapper}: Tomcat offers no other way to its connection's
	 * lock.
	 */
	private static final @Nullable Field WRAPPER = wrapperField();

	private final AtomicReference<@Nullable ScheduledExecutorService> scheduler = new AtomicReference<>();

	/**
	 * Synchronous requests watched while they wait on calls, looked at by one periodic
	 * sweep.
	 */
	private final Set<WaitingWatch> waiting = ConcurrentHashMap.newKeySet();

	private final AtomicBoolean sweeping = new AtomicBoolean();

	private volatile boolean stopped;

	/**
	 * Watch the request's connection from now until its asynchronous processing ends,
	 * unless it is watched already or cannot be. Called on the container's thread, at the
	 * end of each dispatch.
	 */
	void watch(Request request, Response response) {
		if (this.stopped || !request.isAsync() || request.getAttribute(ATTRIBUTE) != null) {
			return;
		}
		SocketWrapperBase<?> connection = connection(request);
		ScheduledExecutorService scheduler = scheduler();
		if (connection == null || scheduler == null) {
			return;
		}
		Watched watched = new Watched(request, response, connection);
		request.setAttribute(ATTRIBUTE, watched);
		try {
			request.getAsyncContext().addListener(watched);
		}
		catch (IllegalStateException ex) {
			// Completed in the meantime: nothing to watch.
			return;
		}
		long interval = INTERVAL.toNanos();
		watched.start(scheduler.scheduleWithFixedDelay(watched::look, interval, interval, TimeUnit.NANOSECONDS));
	}

	/**
	 * Watch the connection of a synchronous request while it waits on calls. Tomcat's
	 * thread holds the connection's lock for the whole request, so a look cannot take it
	 * as for an asynchronous request. Instead, a look reads only while the request waits
	 * on a call (it then reads from its upstream, not from this connection) and once its
	 * body was read in full, and the request's thread, on its way back to Tomcat, waits
	 * for a look under way to end (a look does not block).
	 * @param request the request, on its thread
	 * @param waiting whether the request waits on calls
	 * @param gone run once, on the watching thread, when the client is found gone
	 * @return ends the watch, or {@code null} when the connection cannot be watched
	 */
	@Nullable Runnable watchWaiting(Request request, BooleanSupplier waiting, Runnable gone) {
		if (this.stopped || connection(request) == null) {
			return null;
		}
		org.apache.coyote.Request coyote = request.getCoyoteRequest();
		WaitingWatch watched = new WaitingWatch(waiting, () -> lookAt(coyote), gone);
		this.waiting.add(watched);
		if (!this.sweeping.get() && this.sweeping.compareAndSet(false, true)) {
			ScheduledExecutorService scheduler = scheduler();
			if (scheduler != null) {
				long interval = INTERVAL.toNanos();
				scheduler.scheduleWithFixedDelay(this::sweep, interval, interval, TimeUnit.NANOSECONDS);
			}
		}
		return () -> {
			watched.end();
			this.waiting.remove(watched);
		};
	}

	private void sweep() {
		for (WaitingWatch watched : this.waiting) {
			try {
				if (watched.look()) {
					this.waiting.remove(watched);
				}
			}
			catch (RuntimeException ex) {
				// A failure must not end the periodic sweep, which would watch no
				// request again.
				this.waiting.remove(watched);
				logger.debug("Cannot watch the connection of a request", ex);
			}
		}
	}

	/** Stop watching: the container stops. */
	void stop() {
		this.stopped = true;
		ScheduledExecutorService scheduler = this.scheduler.getAndSet(null);
		if (scheduler != null) {
			scheduler.shutdownNow();
		}
	}

	private @Nullable ScheduledExecutorService scheduler() {
		ScheduledExecutorService scheduler = this.scheduler.get();
		while (scheduler == null && !this.stopped) {
			ScheduledThreadPoolExecutor created = new ScheduledThreadPoolExecutor(1, (task) -> {
				Thread thread = new Thread(task, "hangup-connection-watch");
				thread.setDaemon(true);
				return thread;
			});
			created.setRemoveOnCancelPolicy(true);
			if (this.scheduler.compareAndSet(null, created)) {
				if (this.stopped) {
					// Lost the race with stop(), which may not have seen it.
					created.shutdownNow();
					return null;
				}
				return created;
			}
			created.shutdownNow();
			scheduler = this.scheduler.get();
		}
		return scheduler;
	}

	private static @Nullable SocketWrapperBase<?> connection(Request request) {
		if (WRAPPER == null || !(request.getCoyoteRequest().getInputBuffer() instanceof Http11InputBuffer input)) {
			// HTTP/2 streams share their connection: not this one's to watch.
			return null;
		}
		try {
			Object wrapper = WRAPPER.get(input);
			// Only NIO reads without blocking when asked to: NIO2 would leave a read
			// pending.
			return (wrapper instanceof NioEndpoint.NioSocketWrapper nio) ? nio : null;
		}
		catch (IllegalAccessException ex) {
			return null;
		}
	}

	private static @Nullable Field wrapperField() {
		try {
			Field field = Http11InputBuffer.class.getDeclaredField("wrapper");
			field.setAccessible(true);
			return field;
		}
		catch (ReflectiveOperationException | RuntimeException ex) {
			logger.debug("Cannot watch the connections of asynchronous requests on this Tomcat", ex);
			return null;
		}
	}

	/**
	 * Whether the client closed or reset the request's connection: Tomcat's answer to
	 * "how much request data is available, reading without blocking" is 1 for a read that
	 * failed. A second answer tells that from one byte sent ahead, which stays in the
	 * buffer: the next answer is then 0.
	 */
	private static WaitingWatch.Look lookAt(org.apache.coyote.Request coyote) {
		AtomicBoolean read = new AtomicBoolean();
		coyote.action(ActionCode.REQUEST_BODY_FULLY_READ, read);
		if (!read.get()) {
			// The request still reads its body: not to be read from here.
			return WaitingWatch.Look.HERE;
		}
		coyote.action(ActionCode.AVAILABLE, Boolean.TRUE);
		if (coyote.getAvailable() == 0) {
			return WaitingWatch.Look.HERE;
		}
		coyote.action(ActionCode.AVAILABLE, Boolean.TRUE);
		return (coyote.getAvailable() == 0) ? WaitingWatch.Look.AHEAD : WaitingWatch.Look.GONE;
	}

	/** One asynchronous request, watched until it completes. */
	private static final class Watched implements AsyncListener {

		private static final AtomicReferenceFieldUpdater<Watched, @Nullable Object> LOOKS = AtomicReferenceFieldUpdater
			.newUpdater(Watched.class, Object.class, "looks");

		/** Held in place of the periodic look once the watch ended. */
		private static final Object ENDED = new Object();

		private final Request request;

		private final Response response;

		private final SocketWrapperBase<?> connection;

		/** The periodic look, {@link #ENDED} once the watch ended. */
		private volatile @Nullable Object looks;

		Watched(Request request, Response response, SocketWrapperBase<?> connection) {
			this.request = request;
			this.response = response;
			this.connection = connection;
		}

		void start(ScheduledFuture<?> looks) {
			if (!LOOKS.compareAndSet(this, null, looks)) {
				// Ended before it started.
				looks.cancel(false);
			}
		}

		void end() {
			if (LOOKS.getAndSet(this, ENDED) instanceof ScheduledFuture<?> looks) {
				looks.cancel(false);
			}
		}

		void look() {
			ReentrantLock lock = this.connection.getLock();
			if (!lock.tryLock()) {
				// Tomcat is processing the connection: it sees for itself.
				return;
			}
			try {
				if (this.looks == ENDED || this.request.getAttribute(ATTRIBUTE) != this || !this.request.isAsync()) {
					// The request ended (its objects may serve the next request by now).
					end();
				}
				else {
					WaitingWatch.Look look = lookAt(this.request.getCoyoteRequest());
					if (look != WaitingWatch.Look.HERE) {
						end();
					}
					if (look == WaitingWatch.Look.GONE) {
						// As for a write that failed: the request's listeners get
						// onError, on a container thread once this lock is released,
						// and the connection is closed. Under the lock, so that it is
						// this request's connection.
						this.response.getCoyoteResponse()
							.action(ActionCode.CLOSE_NOW,
									new ClientAbortException(new EOFException("Client closed the connection")));
					}
				}
			}
			finally {
				lock.unlock();
			}
		}

		@Override
		public void onComplete(AsyncEvent event) {
			end();
		}

		@Override
		public void onTimeout(AsyncEvent event) {
		}

		@Override
		public void onError(AsyncEvent event) {
		}

		@Override
		public void onStartAsync(AsyncEvent event) {
			// Each start drops the listeners of the one before: listened to again.
			event.getAsyncContext().addListener(this);
		}

	}

}
