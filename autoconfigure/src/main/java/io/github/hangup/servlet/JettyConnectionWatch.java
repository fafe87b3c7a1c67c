package io.github.hangup.servlet;

import java.io.IOException;
import java.nio.channels.CancelledKeyException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

/**
 * Finds the client of a request on Jetty gone while the request waits on its calls and
 * writes nothing. Jetty reads a connection only when a request asks for its body, so it
 * learns of a client leaving at the next write, after the calls ended. Every
 * {@link #INTERVAL} a sweep registers, for reads, with one selector of this watch the
 * connections of the requests that wait on calls, then selects, without blocking, those
 * ready, and looks at each. A connection ready to read with no byte to read was closed or
 * reset by its client. Bytes to read (a pipelined request) are left for Jetty, and the
 * request is no longer watched.
 * <p>
 * A request is only queued as it starts: the sweep registers its connection once the
 * request waits, so that a request that ends before, as most do, costs no system call and
 * takes no lock. A connection is looked at only once its request's body was read in full
 * (Jetty does not read it then), and only when it was found ready by a selection made
 * after that, so that no readiness of the body's own bytes is taken for an end.
 */
final class JettyConnectionWatch {

	/** How often the watched connections are looked at. */
	static final Duration INTERVAL = Duration.ofMillis(250);

	private static final Log logger = LogFactory.getLog(JettyConnectionWatch.class);

	private final Object lock = new Object();

	private @Nullable Selector selector;

	private @Nullable ScheduledExecutorService sweeper;

	private boolean stopped;

	/** Whether the selector and its sweep were started; set under the lock. */
	private volatile boolean started;

	/** Requests not yet registered: they did not wait on calls at the last sweep. */
	private final Queue<Watched> pending = new ConcurrentLinkedQueue<>();

	/**
	 * Watch a request's connection until the returned watch ends: from the first sweep
	 * that finds the request waiting on calls.
	 * @param channel the request's connection
	 * @param bodyRead whether the request's body was read in full
	 * @param waiting whether the request waits on calls
	 * @param gone run once, on the watching thread, when the client is found gone
	 * @return the watch, or {@code null} when the watch stopped
	 */
	@Nullable Watched watch(SocketChannel channel, BooleanSupplier bodyRead, BooleanSupplier waiting, Runnable gone) {
		if (!this.started) {
			synchronized (this.lock) {
				if (selector() == null) {
					return null;
				}
				this.started = true;
			}
		}
		Watched watched = new Watched(channel, bodyRead, waiting);
		watched.watch = new WaitingWatch(waiting, watched::look, gone);
		this.pending.offer(watched);
		return watched;
	}

	/** How many connections are registered with the selector, for tests. */
	int registered() {
		synchronized (this.lock) {
			return (this.selector != null) ? (int) this.selector.keys().stream().filter(SelectionKey::isValid).count()
					: 0;
		}
	}

	/** Stop watching: the server stops. */
	void stop() {
		synchronized (this.lock) {
			this.stopped = true;
			if (this.sweeper != null) {
				this.sweeper.shutdownNow();
			}
			if (this.selector != null) {
				try {
					this.selector.close();
				}
				catch (IOException ex) {
					logger.debug("Cannot close the selector of the connection watch", ex);
				}
			}
		}
	}

	/** The selector, opened with its sweep on first use; under the lock. */
	private @Nullable Selector selector() {
		if (this.stopped) {
			return null;
		}
		if (this.selector == null) {
			try {
				this.selector = Selector.open();
			}
			catch (IOException ex) {
				logger.debug("Cannot open a selector to watch connections", ex);
				this.stopped = true;
				return null;
			}
			ScheduledThreadPoolExecutor sweeper = new ScheduledThreadPoolExecutor(1, (task) -> {
				Thread thread = new Thread(task, "hangup-connection-watch");
				thread.setDaemon(true);
				return thread;
			});
			long interval = INTERVAL.toNanos();
			sweeper.scheduleWithFixedDelay(this::sweep, interval, interval, TimeUnit.NANOSECONDS);
			this.sweeper = sweeper;
		}
		return this.selector;
	}

	private void sweep() {
		List<Watched> ready = new ArrayList<>();
		synchronized (this.lock) {
			Selector selector = this.selector;
			if (this.stopped || selector == null) {
				return;
			}
			try {
				register(selector);
				// Armed before the selection: readiness found by it came after the body
				// was read.
				for (SelectionKey key : selector.keys()) {
					if (key.attachment() instanceof Watched watched) {
						watched.armed = watched.bodyRead.getAsBoolean();
					}
				}
				selector.selectNow();
				for (SelectionKey key : selector.selectedKeys()) {
					if (key.attachment() instanceof Watched watched && watched.armed) {
						ready.add(watched);
					}
				}
				selector.selectedKeys().clear();
			}
			catch (IOException | RuntimeException ex) {
				// A failure must not end the periodic sweep, which would watch no
				// request again.
				logger.debug("Cannot select the watched connections", ex);
				return;
			}
		}
		for (Watched watched : ready) {
			try {
				if (watched.watch().look()) {
					watched.cancel();
				}
			}
			catch (RuntimeException ex) {
				watched.cancel();
				logger.debug("Cannot watch the connection of a request", ex);
			}
		}
	}

	/**
	 * Register the connections of the requests queued that wait on calls now; those ended
	 * are dropped, the others queued again. Under the lock.
	 */
	private void register(Selector selector) throws IOException {
		if (this.pending.isEmpty()) {
			return;
		}
		// Keys cancelled since the last sweep go with a selection: the next request on a
		// connection registers it again. What it finds ready is found by the next one.
		selector.selectNow();
		selector.selectedKeys().clear();
		List<Watched> waitingLater = new ArrayList<>();
		for (Watched watched = this.pending.poll(); watched != null; watched = this.pending.poll()) {
			if (watched.watch().isEnded()) {
				continue;
			}
			if (!watched.waiting.getAsBoolean()) {
				waitingLater.add(watched);
				continue;
			}
			try {
				watched.key = watched.channel.register(selector, SelectionKey.OP_READ, watched);
			}
			catch (CancelledKeyException ex) {
				// The key of the request before on this connection, cancelled since the
				// selection above: the next sweep registers it.
				waitingLater.add(watched);
				continue;
			}
			catch (IOException | RuntimeException ex) {
				// Closed meanwhile, or not a connection a selector takes.
				logger.debug("Cannot watch the connection of a request", ex);
				continue;
			}
			if (watched.watch().isEnded()) {
				// Ended while registered: its end did not find the key.
				watched.cancel();
			}
		}
		this.pending.addAll(waitingLater);
	}

	/** One request's connection, watched until the request ends. */
	static final class Watched {

		private final SocketChannel channel;

		private final BooleanSupplier bodyRead;

		private final BooleanSupplier waiting;

		private @Nullable WaitingWatch watch;

		/**
		 * Set by the sweep that registers the connection, which then looks whether the
		 * watch ended; the end looks for the key once it ended the watch: one of the two
		 * cancels the key.
		 */
		private volatile @Nullable SelectionKey key;

		/**
		 * Whether the body was read before the last selection; written and read by the
		 * sweep only.
		 */
		private boolean armed;

		Watched(SocketChannel channel, BooleanSupplier bodyRead, BooleanSupplier waiting) {
			this.channel = channel;
			this.bodyRead = bodyRead;
			this.waiting = waiting;
		}

		/**
		 * End the watch, on the request's thread before the request is recycled, once a
		 * look under way ended.
		 */
		void end() {
			watch().end();
			cancel();
		}

		private WaitingWatch watch() {
			WaitingWatch watch = this.watch;
			if (watch == null) {
				throw new IllegalStateException("Not watched yet");
			}
			return watch;
		}

		private void cancel() {
			SelectionKey key = this.key;
			if (key != null) {
				key.cancel();
			}
		}

		/**
		 * The connection was found ready to read: no byte to read is its end (or a reset,
		 * which reads no byte either).
		 */
		private WaitingWatch.Look look() {
			try {
				return (this.channel.socket().getInputStream().available() > 0) ? WaitingWatch.Look.AHEAD
						: WaitingWatch.Look.GONE;
			}
			catch (IOException ex) {
				// Closed or shut down for input: gone as well.
				return WaitingWatch.Look.GONE;
			}
		}

	}

}
