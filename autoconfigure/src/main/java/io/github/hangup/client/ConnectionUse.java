package io.github.hangup.client;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import io.github.hangup.UpstreamConnection;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelPromise;
import io.netty.util.AttributeKey;
import io.netty.util.concurrent.ScheduledFuture;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Mono;
import reactor.netty.Connection;
import reactor.netty.channel.ChannelOperations;

/**
 * What Hangup knows of one pooled HTTP/1.1 upstream connection, kept as an attribute of
 * its Netty channel: how many calls it carried, since when it sits idle, and the timer
 * that closes it before it goes stale. Only touched on the channel's event loop, like the
 * channel itself, so it needs no synchronization.
 * <p>
 * A connection is closed once it has been idle for the maximum idle time, or for the
 * upstream's advertised {@code Keep-Alive: timeout=N} less a safety margin, whichever
 * comes first. A closed channel is never handed out by Reactor Netty's pool (it checks
 * that a channel is still active on acquire), so a connection past its limit is not
 * reused, while one the upstream still holds open keeps being reused.
 * <p>
 * The pool is not Hangup's (by default it is Reactor Netty's global one, shared with
 * clients Hangup does not see), so Hangup never closes a connection that carries a call:
 * Reactor Netty binds a call's {@link ChannelOperations} to the channel when its pool
 * hands the channel out, on the channel's event loop, and unbinds them before the channel
 * goes back. Checked on that event loop, a connection that carries no call cannot be
 * handed out before it is closed.
 */
final class ConnectionUse {

	private static final AttributeKey<ConnectionUse> KEY = AttributeKey.valueOf(ConnectionUse.class.getName());

	/** The longest margin kept before an advertised keep-alive timeout. */
	static final Duration MAX_MARGIN = Duration.ofSeconds(1);

	private int requests;

	/**
	 * When the connection last became idle; 0 while a call uses it or before its first.
	 */
	private long idleSince;

	/**
	 * The check that closes the connection once idle for {@link #idleLimit}. One per
	 * connection, not one per release: a busy connection is released and acquired again
	 * many times before its check comes, which then looks again when there is time left.
	 */
	private @Nullable ScheduledFuture<?> closer;

	/** The idle limit set by the last release, in nanoseconds. */
	private long idleLimit;

	/** The idle connections to the same upstream, while this one is among them. */
	private @Nullable Set<Object> idle;

	private boolean watched;

	/** Closed by {@link #closeIdle} for a retry; read by the connection's next call. */
	private volatile boolean closedForRetry;

	private ConnectionUse() {
	}

	/**
	 * A call starts on the channel: stop its idle timer and tell the call what the
	 * connection is. Call on the channel's event loop.
	 * @return the connection as the call sees it, {@code null} for an HTTP/2 stream
	 */
	static @Nullable UpstreamConnection acquired(Channel channel) {
		if (channel.parent() != null) {
			// An HTTP/2 stream: the connection is its parent, shared and not pooled per
			// call.
			return null;
		}
		ConnectionUse use = channel.attr(KEY).get();
		if (use == null) {
			use = new ConnectionUse();
			channel.attr(KEY).set(use);
		}
		Set<Object> joined = use.idle;
		if (joined != null) {
			joined.remove(channel);
			use.idle = null;
		}
		// Idle since unknown when the last call's body was released unread.
		Duration idle = (use.idleSince != 0) ? Duration.ofNanos(now(channel) - use.idleSince) : Duration.ZERO;
		UpstreamConnection connection = (use.requests == 0) ? UpstreamConnection.NEW
				: new UpstreamConnection(true, idle, use.requests);
		use.requests++;
		use.idleSince = 0;
		return connection;
	}

	/**
	 * A call on the channel ended with its whole response read: the connection goes back
	 * to the pool. Closes it once idle for {@code maxIdle}, or before the upstream's
	 * advertised keep-alive timeout. A release that comes once the pool handed the
	 * connection to another call (a slow reader's last chunks, or a call of a client
	 * Hangup does not see) is ignored: the connection is not idle. May be called from any
	 * thread.
	 * @param call the releasing call's connection, as the pool handed it out
	 * @param keepAlive the response's {@code Keep-Alive} header, if any
	 * @param maxIdle the longest the connection may sit idle; zero for no limit of our
	 * own
	 * @param idle the idle connections to the same upstream, which this one joins
	 */
	static void released(Connection call, @Nullable String keepAlive, Duration maxIdle, Set<Object> idle) {
		released(call.channel(), call, keepAlive, maxIdle, idle);
	}

	/**
	 * {@link #released(Connection, String, Duration, Set)} on {@code channel}, the
	 * channel of {@code call} when it released it: from another thread, the release runs
	 * later on the channel's event loop, by when the pool may have handed the channel to
	 * another call.
	 */
	static void released(Channel channel, Connection call, @Nullable String keepAlive, Duration maxIdle,
			Set<Object> idle) {
		if (channel.parent() != null || !channel.isActive()) {
			return;
		}
		if (!channel.eventLoop().inEventLoop()) {
			channel.eventLoop().execute(() -> released(channel, call, keepAlive, maxIdle, idle));
			return;
		}
		ConnectionUse use = channel.attr(KEY).get();
		if (use == null || use.idleSince != 0) {
			return;
		}
		ChannelOperations<?, ?> carried = callOn(channel);
		if (carried != null && carried != call) {
			return;
		}
		use.idleSince = now(channel);
		use.idle = idle;
		idle.add(channel);
		if (!use.watched) {
			// Once per connection, not per release: a closed connection leaves the set,
			// and its timer goes, which would otherwise hold the closed channel (and what
			// its last call left on it) until the idle limit.
			use.watched = true;
			channel.closeFuture().addListener((closed) -> {
				Set<Object> joined = use.idle;
				if (joined != null) {
					joined.remove(channel);
				}
				ScheduledFuture<?> timer = use.closer;
				if (timer != null) {
					timer.cancel(false);
					use.closer = null;
				}
			});
		}
		long limit = idleLimitNanos(keepAlive, maxIdle);
		use.idleLimit = limit;
		ScheduledFuture<?> pending = use.closer;
		if (pending != null && (limit == 0 || pending.getDelay(TimeUnit.NANOSECONDS) > limit)) {
			// A shorter limit than the one the check was set for, or none.
			pending.cancel(false);
			use.closer = null;
		}
		if (limit > 0 && use.closer == null) {
			use.closer = channel.eventLoop().schedule(() -> use.checkIdle(channel), limit, TimeUnit.NANOSECONDS);
		}
	}

	/**
	 * The idle check, on the channel's event loop: closes the connection if it has been
	 * idle for its limit since it was last released, by a call of Hangup's or of a client
	 * it does not see; looks again when it has not, and leaves a busy connection to its
	 * next release.
	 */
	private void checkIdle(Channel channel) {
		this.closer = null;
		long since = this.idleSince;
		if (since == 0 || this.idleLimit == 0 || callOn(channel) != null || !channel.isActive()) {
			return;
		}
		long left = this.idleLimit - (now(channel) - since);
		if (left <= 0) {
			channel.close();
		}
		else {
			this.closer = channel.eventLoop().schedule(() -> checkIdle(channel), left, TimeUnit.NANOSECONDS);
		}
	}

	/**
	 * Whether the channel was closed by {@link #closeIdle}: the pool may have handed it
	 * out at that very moment, and a request on it then fails before it is sent.
	 */
	static boolean isClosedForRetry(Channel channel) {
		ConnectionUse use = channel.attr(KEY).get();
		return use != null && use.closedForRetry;
	}

	/**
	 * Close the idle connections to an upstream. A stale connection rarely comes alone:
	 * the ones idle as long died with it. Closed, none of them is handed out to the
	 * retry, which gets a new connection.
	 * @return a {@code Mono} that completes once they are all closed
	 */
	static Mono<Void> closeIdle(Set<Object> idle) {
		List<ChannelFuture> closing = new ArrayList<>();
		for (Object connection : idle) {
			if (idle.remove(connection)) {
				closing.add(closeIfIdle((Channel) connection));
			}
		}
		if (closing.isEmpty()) {
			return Mono.empty();
		}
		return Mono.create((sink) -> {
			AtomicInteger left = new AtomicInteger(closing.size());
			for (ChannelFuture future : closing) {
				future.addListener((done) -> {
					if (left.decrementAndGet() == 0) {
						sink.success();
					}
				});
			}
		});
	}

	/**
	 * Close an idle connection, on its event loop, unless a call of a client Hangup does
	 * not see took it from the pool meanwhile (Hangup's own calls take theirs out of the
	 * set).
	 * @return a future done once the connection is closed or left to its call
	 */
	private static ChannelFuture closeIfIdle(Channel channel) {
		ChannelPromise done = channel.newPromise();
		Runnable close = () -> {
			if (callOn(channel) != null) {
				done.setSuccess();
				return;
			}
			ConnectionUse use = channel.attr(KEY).get();
			if (use != null) {
				use.closedForRetry = true;
			}
			channel.close().addListener((closed) -> done.setSuccess());
		};
		if (channel.eventLoop().inEventLoop()) {
			close.run();
		}
		else {
			channel.eventLoop().execute(close);
		}
		return done;
	}

	/** The time on the channel's event loop, which schedules its checks by that clock. */
	private static long now(Channel channel) {
		return channel.eventLoop().ticker().nanoTime();
	}

	/**
	 * The call the channel carries, if any. Call on the channel's event loop.
	 */
	private static @Nullable ChannelOperations<?, ?> callOn(Channel channel) {
		return ChannelOperations.get(channel);
	}

	/**
	 * The idle time after which a connection is closed: the shorter of our maximum and
	 * the upstream's keep-alive timeout less a margin (a second, or half of a shorter
	 * timeout), so that a request never reaches the upstream just as it closes the
	 * connection.
	 * @return the limit in nanoseconds, 0 for none
	 */
	static long idleLimitNanos(@Nullable String keepAlive, Duration maxIdle) {
		long limit = maxIdle.toNanos();
		Duration advertised = keepAliveTimeout(keepAlive);
		if (advertised != null) {
			Duration margin = advertised.dividedBy(2).compareTo(MAX_MARGIN) < 0 ? advertised.dividedBy(2) : MAX_MARGIN;
			long upstream = Math.max(1, advertised.minus(margin).toNanos());
			limit = (limit == 0) ? upstream : Math.min(limit, upstream);
		}
		return limit;
	}

	/**
	 * Parse the {@code timeout} parameter of a {@code Keep-Alive} header, as Node, Apache
	 * and others send it ({@code timeout=5, max=100}).
	 * @return the timeout, or {@code null} when absent or not a sane number of seconds
	 */
	static @Nullable Duration keepAliveTimeout(@Nullable String header) {
		if (header == null) {
			return null;
		}
		for (String parameter : header.split(",")) {
			String[] pair = parameter.trim().split("=", 2);
			if (pair.length == 2 && pair[0].trim().toLowerCase(Locale.ROOT).equals("timeout")) {
				String value = pair[1].trim();
				// Seconds as digits only, at most a day: anything else is ignored, not
				// trusted.
				if (!value.isEmpty() && value.length() <= 5 && value.chars().allMatch(Character::isDigit)) {
					long seconds = Long.parseLong(value);
					return (seconds > 0 && seconds <= 86_400) ? Duration.ofSeconds(seconds) : null;
				}
				return null;
			}
		}
		return null;
	}

}
