package io.github.hangup.servlet;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import io.github.hangup.servlet.WaitingWatch.Look;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The watch of a synchronous request's connection: a look reads the connection from the
 * watching thread while Tomcat's thread serves the request, so the request's thread must
 * not return to Tomcat while a look is under way, and no look may start once it did.
 */
class WaitingWatchTests {

	/**
	 * Threads of the test's own: the common pool may have one thread (on two cores),
	 * which a held look would keep from running the end it must wait for.
	 */
	private static final ExecutorService THREADS = Executors.newCachedThreadPool();

	@AfterAll
	static void stop() {
		THREADS.shutdownNow();
	}

	@Test
	void endWaitsForALookUnderWayToEnd() throws Exception {
		Held held = new Held();
		WaitingWatch watch = new WaitingWatch(() -> true, () -> {
			held.run();
			return Look.HERE;
		}, () -> {
		});
		// The request's thread stays out of Tomcat while the look reads.
		assertThat(endWaitsFor(watch, held)).as("the watch ended").isFalse();
	}

	/**
	 * What runs for a client found gone reads the request: the request's thread must not
	 * return to Tomcat, which recycles the request, before it ended.
	 */
	@Test
	void endWaitsForWhatRunsForAClientFoundGone() throws Exception {
		Held held = new Held();
		WaitingWatch watch = new WaitingWatch(() -> true, () -> Look.GONE, held);
		assertThat(endWaitsFor(watch, held)).as("the watch ended").isTrue();
	}

	/**
	 * Look on one thread, held inside {@code held}, then end on another: the end must not
	 * return before the held step was released and ended.
	 * @return what the look returned
	 */
	private static boolean endWaitsFor(WaitingWatch watch, Held held) throws Exception {
		CompletableFuture<Boolean> look = CompletableFuture.supplyAsync(watch::look, THREADS);
		assertThat(held.entered.await(10, TimeUnit.SECONDS)).isTrue();
		AtomicBoolean endCalled = new AtomicBoolean();
		CompletableFuture<Boolean> end = CompletableFuture.supplyAsync(() -> {
			endCalled.set(true);
			watch.end();
			return held.ended.get();
		}, THREADS);
		await().until(endCalled::get);
		await().during(Duration.ofMillis(200)).atMost(Duration.ofSeconds(5)).until(() -> !end.isDone());
		held.release.countDown();
		assertThat(end.get(10, TimeUnit.SECONDS)).as("the held step had ended when end() returned").isTrue();
		return look.get(10, TimeUnit.SECONDS);
	}

	/** A step of a look that holds it until the test releases it. */
	private static final class Held implements Runnable {

		final CountDownLatch entered = new CountDownLatch(1);

		final CountDownLatch release = new CountDownLatch(1);

		final AtomicBoolean ended = new AtomicBoolean();

		@Override
		public void run() {
			this.entered.countDown();
			awaitOpen(this.release);
			this.ended.set(true);
		}

	}

	@Test
	void aFailureOfWhatRunsForAClientFoundGoneEndsTheWatch() {
		WaitingWatch watch = new WaitingWatch(() -> true, () -> Look.GONE, () -> {
			throw new IllegalStateException("request recycled");
		});
		assertThat(watch.look()).isTrue();
		// Ended: the request's thread does not wait.
		watch.end();
	}

	@Test
	void noLookStartsOnceTheWatchEnded() {
		AtomicInteger looks = new AtomicInteger();
		WaitingWatch watch = new WaitingWatch(() -> true, () -> {
			looks.incrementAndGet();
			return Look.GONE;
		}, () -> {
		});
		watch.end();
		assertThat(watch.look()).isTrue();
		assertThat(looks).hasValue(0);
	}

	@Test
	void connectionIsReadOnlyWhileTheRequestWaitsOnCalls() {
		AtomicBoolean waiting = new AtomicBoolean();
		AtomicInteger looks = new AtomicInteger();
		AtomicInteger gone = new AtomicInteger();
		WaitingWatch watch = new WaitingWatch(waiting::get, () -> {
			looks.incrementAndGet();
			return Look.GONE;
		}, gone::incrementAndGet);
		assertThat(watch.look()).isFalse();
		assertThat(looks).hasValue(0);
		waiting.set(true);
		assertThat(watch.look()).isTrue();
		assertThat(watch.look()).isTrue();
		assertThat(looks).hasValue(1);
		assertThat(gone).as("gone runs once").hasValue(1);
		// Ended by the look: the request's thread does not wait.
		watch.end();
	}

	@Test
	void bytesSentAheadEndTheWatchWithoutTheClientGone() {
		AtomicInteger gone = new AtomicInteger();
		WaitingWatch watch = new WaitingWatch(() -> true, () -> Look.AHEAD, gone::incrementAndGet);
		assertThat(watch.look()).isTrue();
		assertThat(gone).hasValue(0);
	}

	/**
	 * A look and the end racing from a barrier: whichever wins, end() never returns while
	 * the look reads, and a look that lost never reads.
	 */
	@RepeatedTest(200)
	void lookAndEndRacingNeverOverlap() throws Exception {
		AtomicBoolean reading = new AtomicBoolean();
		AtomicBoolean overlapped = new AtomicBoolean();
		AtomicBoolean ended = new AtomicBoolean();
		WaitingWatch watch = new WaitingWatch(() -> true, () -> {
			if (ended.get()) {
				overlapped.set(true);
			}
			reading.set(true);
			// A read takes a while: long enough for an end() that does not wait to
			// return in the middle of it.
			long until = System.nanoTime() + 50_000;
			while (System.nanoTime() < until) {
				Thread.onSpinWait();
			}
			reading.set(false);
			return Look.HERE;
		}, () -> {
		});
		CyclicBarrier barrier = new CyclicBarrier(2);
		CompletableFuture<Void> looker = CompletableFuture.runAsync(() -> {
			meet(barrier);
			watch.look();
		}, THREADS);
		meet(barrier);
		watch.end();
		if (reading.get()) {
			overlapped.set(true);
		}
		ended.set(true);
		looker.get(10, TimeUnit.SECONDS);
		watch.look();
		assertThat(overlapped).isFalse();
	}

	private static void awaitOpen(CountDownLatch latch) {
		try {
			latch.await(10, TimeUnit.SECONDS);
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
		}
	}

	private static void meet(CyclicBarrier barrier) {
		try {
			barrier.await(10, TimeUnit.SECONDS);
		}
		catch (Exception ex) {
			throw new IllegalStateException(ex);
		}
	}

}
