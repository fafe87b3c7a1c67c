package io.github.hangup.client;

import java.time.Duration;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import io.netty.util.concurrent.EventExecutor;
import io.netty.util.internal.ThreadExecutorMap;
import org.jspecify.annotations.Nullable;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.scheduler.Schedulers;
import reactor.netty.Connection;

import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.http.MediaType;
import org.springframework.http.client.reactive.ClientHttpRequest;
import org.springframework.util.ClassUtils;

/**
 * The response timeout of one call, armed when its request is written, which is when it
 * learns its connector. With Reactor Netty it is an idle timeout on the connection's
 * event loop, as Reactor Netty's own {@code responseTimeout} is, without adding and
 * removing a handler in the connection's pipeline and subscribing to the connection's end
 * for every request. Like Reactor Netty's, it counts from when the request was sent, so
 * that a slow upload does not time out. Other connectors get a Reactor timer until the
 * response and a {@code timeout} operator on the body.
 */
final class ResponseTimeout {

	private static final boolean REACTOR_NETTY_PRESENT = ClassUtils
		.isPresent("reactor.netty.http.client.HttpClientRequest", ResponseTimeout.class.getClassLoader());

	private final CallSubscriber subscriber;

	private final CallState state;

	private final Duration timeout;

	private final StreamingResponses streams;

	/**
	 * The limit on silence in the body, in nanoseconds: the response timeout, or a
	 * stream's own (0 for none) once the response turned out to be a stream.
	 */
	private volatile long bodyTimeout;

	/**
	 * The connection's event loop once known: the body's signals are serialized on it.
	 */
	private volatile @Nullable Executor eventLoop;

	/** The timeout runs on the connection's event loop, through the body too. */
	private volatile boolean idle;

	/**
	 * When the upstream last sent something, or the request was sent, for the idle
	 * timeout.
	 */
	private volatile long lastRead;

	/**
	 * The request is sent: the idle timeout counts from then, as Reactor Netty's does.
	 */
	private volatile boolean sent;

	/**
	 * The request is being written on a connection; before that, the timeout counts from
	 * the start.
	 */
	private volatile boolean connected;

	private volatile @Nullable Disposable timer;

	/** When a retried call's first attempt began waiting; 0 unless retried. */
	private volatile long retryOrigin;

	ResponseTimeout(CallSubscriber subscriber, CallState state, Duration timeout, StreamingResponses streams) {
		this.subscriber = subscriber;
		this.state = state;
		this.timeout = timeout;
		this.streams = streams;
		this.bodyTimeout = timeout.toNanos();
	}

	/**
	 * Arm the timeout before the call has a connection: getting one (connecting, a TLS
	 * handshake that hangs) takes no longer than waiting for a response would. Replaced
	 * by the response timeout proper when the request is written.
	 */
	void armBeforeConnection() {
		// Where a retry counts from should the call fail before it was ever written.
		this.lastRead = System.nanoTime();
		if (!this.timeout.isZero()) {
			startTimer(this.timeout.toNanos());
		}
	}

	/**
	 * The call is about to be sent once more, on a new connection: it waits only for what
	 * is left of its timeout, counted from when its failed attempt began waiting,
	 * connecting included.
	 * @return whether any time is left for it
	 */
	boolean retrying() {
		if (this.timeout.isZero()) {
			return true;
		}
		disarm();
		this.idle = false;
		// Until the retry is written, its timer counts from the failed attempt's start.
		this.connected = false;
		// Before any response byte: when the failed attempt was sent, began writing, or,
		// never written, began.
		long origin = this.lastRead;
		long left = this.timeout.toNanos() - (System.nanoTime() - origin);
		if (left <= 0) {
			return false;
		}
		this.retryOrigin = origin;
		startTimer(left);
		return true;
	}

	/**
	 * Learn the connector the request is written to and arm the timeout.
	 * @param sent whether to count from now rather than from {@link #requestSent()}
	 */
	void arm(ClientHttpRequest httpRequest, boolean sent) {
		if (REACTOR_NETTY_PRESENT) {
			this.eventLoop = ReactorNetty.eventLoop(httpRequest.getNativeRequest());
		}
		if (this.timeout.isZero()) {
			return;
		}
		long now = System.nanoTime();
		if (REACTOR_NETTY_PRESENT && this.timer instanceof IdleTimer pending
				&& ReactorNetty.bind(pending, httpRequest.getNativeRequest())) {
			// The timer armed before the connection goes on as the connection's, on the
			// same event loop, which runs this: when it fires, it finds the new start and
			// waits on.
			this.lastRead = waitingSince(now);
			this.sent = sent;
			this.connected = true;
			this.idle = true;
			return;
		}
		disarm();
		this.lastRead = waitingSince(now);
		this.sent = sent;
		this.connected = true;
		long wait = Math.max(1, this.timeout.toNanos() - (now - this.lastRead));
		if (REACTOR_NETTY_PRESENT) {
			Disposable idle = ReactorNetty.idleTimer(httpRequest.getNativeRequest(), this, wait);
			if (idle != null) {
				this.idle = true;
				this.timer = idle;
				return;
			}
		}
		if (sent) {
			startTimer(wait);
		}
	}

	void requestSent() {
		this.sent = true;
		if (this.timeout.isZero()) {
			return;
		}
		long now = System.nanoTime();
		this.lastRead = waitingSince(now);
		if (!this.idle) {
			startTimer(Math.max(1, this.timeout.toNanos() - (now - this.lastRead)));
		}
	}

	/**
	 * Since when the call waits for its response: now, or its first attempt's start if
	 * retried.
	 */
	private long waitingSince(long now) {
		long origin = this.retryOrigin;
		return (origin != 0) ? origin : now;
	}

	private void startTimer(long nanos) {
		if (!this.state.isSignalled()) {
			// Should the response win the race with this check, the timer finds it
			// answered.
			Disposable onLoop = REACTOR_NETTY_PRESENT ? ReactorNetty.onCurrentLoop(this, nanos) : null;
			this.timer = (onLoop != null) ? onLoop
					: Schedulers.parallel().schedule(this.subscriber::timedOut, nanos, TimeUnit.NANOSECONDS);
		}
	}

	void disarm() {
		Disposable armed = this.timer;
		if (armed != null) {
			armed.dispose();
		}
	}

	/**
	 * The response arrived: a Reactor timer is done, an idle one goes on through the
	 * body, unless the body is a stream without a limit on its silences.
	 */
	void responded(@Nullable MediaType contentType) {
		boolean stream = this.streams.isStreaming(contentType);
		if (stream) {
			this.bodyTimeout = this.streams.idleTimeoutNanos();
		}
		if (!this.idle || this.bodyTimeout == 0) {
			disarm();
			return;
		}
		this.lastRead = System.nanoTime();
		if (stream && this.timer instanceof IdleTimer armed) {
			// Its next check comes when the stream's own limit is up. Should the check
			// pending before still run (this runs off the event loop), it finds time left
			// and schedules again: at worst one check too many, never one too few.
			armed.schedule(this.bodyTimeout);
		}
	}

	/**
	 * The upstream sent something, or the reader asks again: the idle timeout restarts.
	 */
	void read() {
		if (this.idle) {
			this.lastRead = System.nanoTime();
		}
	}

	/**
	 * The body as read: with a {@code timeout} operator unless the idle timer covers it.
	 */
	Flux<DataBuffer> body(Flux<DataBuffer> source) {
		long limit = this.bodyTimeout;
		return (limit == 0 || this.idle) ? source : source.timeout(Duration.ofNanos(limit));
	}

	TimeoutException exception() {
		long limit = this.state.isResponded() ? this.bodyTimeout : this.timeout.toNanos();
		return new TimeoutException(
				"Nothing received from the upstream for " + TimeUnit.NANOSECONDS.toMillis(limit) + " ms");
	}

	@Nullable Executor eventLoop() {
		return this.eventLoop;
	}

	/**
	 * The idle timer's check, on the connection's event loop.
	 * @return the nanoseconds left before the call times out, or zero once it did
	 */
	long idleRemaining() {
		CallState state = this.state;
		if (this.connected && !this.sent && !state.isSignalled() && !state.isEnded()) {
			// Still writing the request: waiting for a response has not begun.
			return this.timeout.toNanos();
		}
		long limit = this.timeout.toNanos();
		if (state.isResponded()) {
			limit = this.bodyTimeout;
			TrackedBody body = this.subscriber.body();
			if (limit == 0 || body == null || !body.demands()) {
				// Nobody asks for the body (yet, or right now: a slow reader holds it
				// back through backpressure). The upstream is not silent, we are not
				// listening: the clock restarts when demand does. A stream without a
				// limit never times out.
				return (limit != 0) ? limit : this.timeout.toNanos();
			}
		}
		long remaining = limit - (System.nanoTime() - this.lastRead);
		return (remaining > 0 && !state.isEnded()) ? remaining : 0;
	}

	/**
	 * The idle timeout expired, on the connection's event loop: stop the exchange where
	 * it is.
	 * @return whether the exchange was stopped; if not, the timer closes the connection
	 */
	boolean idleExpired() {
		if (this.state.isEnded()) {
			return true;
		}
		if (!this.state.isSignalled()) {
			this.subscriber.timedOut();
			return true;
		}
		TrackedBody body = this.subscriber.body();
		return body != null && body.timedOut();
	}

	/**
	 * Isolates the Reactor Netty types so that other connectors never load them.
	 */
	private static final class ReactorNetty {

		static @Nullable Executor eventLoop(Object nativeRequest) {
			return (nativeRequest instanceof Connection connection) ? connection.channel().eventLoop() : null;
		}

		/**
		 * A timer on the event loop the call is started from, as a proxy's calls are:
		 * armed and disarmed on that thread, it costs no other thread's wake-up, where
		 * Reactor's parallel scheduler is woken for every call only to be cancelled a
		 * moment later. It counts from {@link ResponseTimeout#lastRead}, and goes on as
		 * the connection's timer when the connection is on the same event loop.
		 * @return the timer, or {@code null} off an event loop
		 */
		static @Nullable Disposable onCurrentLoop(ResponseTimeout timeout, long nanos) {
			EventExecutor loop = ThreadExecutorMap.currentExecutor();
			if (loop == null) {
				return null;
			}
			IdleTimer timer = new IdleTimer(loop, timeout);
			timer.schedule(nanos);
			return timer;
		}

		static boolean bind(IdleTimer timer, Object nativeRequest) {
			return nativeRequest instanceof Connection connection && timer.bind(connection);
		}

		static @Nullable Disposable idleTimer(Object nativeRequest, ResponseTimeout timeout, long nanos) {
			if (nativeRequest instanceof Connection connection) {
				IdleTimer timer = new IdleTimer(connection, timeout);
				timer.schedule(nanos);
				return timer;
			}
			return null;
		}

	}

}
