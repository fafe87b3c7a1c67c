package io.github.hangup.server;

import java.util.concurrent.Callable;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import io.github.hangup.HangupKind;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The scope's own transitions, raced on two threads released by a barrier: whoever
 * decides first how a request ended decides for everyone, and a closed scope holds no
 * calls.
 */
class InboundScopeRaceTests {

	private static final int ROUNDS = 50_000;

	private final ExecutorService threads = Executors.newFixedThreadPool(2);

	@AfterEach
	void stop() {
		this.threads.shutdownNow();
	}

	@Test
	void aShutdownClosingARequestAsItsClientLeavesGivesEveryoneTheSameKind() throws Exception {
		CyclicBarrier barrier = new CyclicBarrier(2);
		int serverFirst = 0;
		for (int round = 0; round < ROUNDS; round++) {
			InboundScope scope = new InboundScope();
			Future<HangupKind> leaving = race(barrier, () -> {
				scope.ended(HangupKind.CLIENT_CANCEL);
				return scope.goneKind();
			});
			int offset = round % 32;
			Future<HangupKind> closing = race(barrier, () -> {
				// Swept start offsets: the window between reading and deciding is a few
				// instructions wide, far less than the barrier's own skew.
				spin(offset);
				scope.ended(HangupKind.SERVER_CLOSE);
				return scope.goneKind();
			});
			HangupKind seenByClient = leaving.get();
			HangupKind seenByServer = closing.get();
			assertThat(seenByClient).as("round %d", round).isEqualTo(seenByServer).isEqualTo(scope.goneKind());
			serverFirst += (seenByServer == HangupKind.SERVER_CLOSE) ? 1 : 0;
		}
		// Both orders happened, or the race was not exercised.
		assertThat(serverFirst).isBetween(1, ROUNDS - 1);
	}

	@Test
	void aCallJoiningAsItsRequestClosesIsNotLeftInTheClosedScope() throws Exception {
		CyclicBarrier barrier = new CyclicBarrier(2);
		for (int round = 0; round < ROUNDS; round++) {
			InboundScope scope = new InboundScope();
			Call call = new Call();
			Future<Boolean> joining = race(barrier, () -> scope.join(call));
			int offset = round % 32;
			Future<Boolean> closing = race(barrier, () -> {
				spin(offset);
				return scope.close();
			});
			assertThat(joining.get()).isTrue();
			assertThat(closing.get()).isTrue();
			assertThat(scope.participants()).as("round %d", round).isZero();
			assertThat(call.told).isFalse();
		}
	}

	private static void spin(int iterations) {
		for (int i = 0; i < iterations; i++) {
			Thread.onSpinWait();
		}
	}

	private <T> Future<T> race(CyclicBarrier barrier, Callable<T> action) {
		return this.threads.submit(() -> {
			barrier.await();
			return action.call();
		});
	}

	/** A call that only remembers being told its client left. */
	static final class Call implements InboundScope.Participant {

		volatile boolean told;

		@Override
		public String upstream() {
			return "upstream:80";
		}

		@Override
		public boolean isCancelled() {
			return false;
		}

		@Override
		public void onClientGone() {
			this.told = true;
		}

	}

}
