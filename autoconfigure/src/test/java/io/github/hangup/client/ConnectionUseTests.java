package io.github.hangup.client;

import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import io.github.hangup.UpstreamConnection;
import io.netty.channel.embedded.EmbeddedChannel;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import reactor.netty.Connection;
import reactor.netty.ConnectionObserver;
import reactor.netty.channel.ChannelOperations;
import reactor.test.StepVerifier;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tests for {@link ConnectionUse}, on an embedded channel whose clock the test moves.
 */
class ConnectionUseTests {

	private final EmbeddedChannel channel = new EmbeddedChannel();

	private final Set<Object> idle = ConcurrentHashMap.newKeySet();

	ConnectionUseTests() {
		this.channel.freezeTime();
	}

	@AfterEach
	void close() {
		this.channel.finishAndReleaseAll();
	}

	@Test
	void firstCallIsOnANewConnectionAndTheNextOnAReusedOne() {
		assertThat(ConnectionUse.acquired(this.channel)).isEqualTo(UpstreamConnection.NEW);
		ConnectionUse.released(Connection.from(this.channel), null, Duration.ZERO, this.idle);
		UpstreamConnection second = ConnectionUse.acquired(this.channel);
		assertThat(second.reused()).isTrue();
		assertThat(second.requests()).isEqualTo(1);
		ConnectionUse.released(Connection.from(this.channel), null, Duration.ZERO, this.idle);
		assertThat(ConnectionUse.acquired(this.channel).requests()).isEqualTo(2);
	}

	@Test
	void idleConnectionIsClosedAtTheMaximumIdleTime() {
		ConnectionUse.acquired(this.channel);
		ConnectionUse.released(Connection.from(this.channel), null, Duration.ofSeconds(20), this.idle);
		advance(Duration.ofSeconds(20).minusMillis(1));
		assertThat(this.channel.isOpen()).isTrue();
		advance(Duration.ofMillis(1));
		assertThat(this.channel.isOpen()).isFalse();
	}

	@Test
	void advertisedKeepAliveTimeoutClosesTheConnectionASecondBefore() {
		ConnectionUse.acquired(this.channel);
		ConnectionUse.released(Connection.from(this.channel), "timeout=5, max=100", Duration.ofSeconds(20), this.idle);
		advance(Duration.ofMillis(3999));
		assertThat(this.channel.isOpen()).isTrue();
		advance(Duration.ofMillis(1));
		assertThat(this.channel.isOpen()).isFalse();
	}

	@Test
	void connectionReleasedAgainIsClosedItsLimitAfterTheLastRelease() {
		ConnectionUse.acquired(this.channel);
		ConnectionUse.released(Connection.from(this.channel), "timeout=5", Duration.ofSeconds(20), this.idle);
		advance(Duration.ofSeconds(3));
		ConnectionUse.acquired(this.channel);
		ConnectionUse.released(Connection.from(this.channel), "timeout=5", Duration.ofSeconds(20), this.idle);
		advance(Duration.ofMillis(3999));
		assertThat(this.channel.isOpen()).isTrue();
		advance(Duration.ofMillis(1));
		assertThat(this.channel.isOpen()).isFalse();
	}

	@Test
	void shorterLimitOfALaterReleaseTakesOver() {
		ConnectionUse.acquired(this.channel);
		ConnectionUse.released(Connection.from(this.channel), null, Duration.ofSeconds(20), this.idle);
		ConnectionUse.acquired(this.channel);
		ConnectionUse.released(Connection.from(this.channel), "timeout=2", Duration.ofSeconds(20), this.idle);
		advance(Duration.ofMillis(999));
		assertThat(this.channel.isOpen()).isTrue();
		advance(Duration.ofMillis(1));
		assertThat(this.channel.isOpen()).isFalse();
	}

	@Test
	void connectionReusedBeforeItsLimitIsNotClosedUnderTheCall() {
		ConnectionUse.acquired(this.channel);
		ConnectionUse.released(Connection.from(this.channel), "timeout=5", Duration.ofSeconds(20), this.idle);
		advance(Duration.ofSeconds(3));
		ConnectionUse.acquired(this.channel);
		advance(Duration.ofSeconds(30));
		assertThat(this.channel.isOpen()).isTrue();
	}

	@Test
	void connectionTakenByAClientHangupDoesNotSeeIsNotClosedUnderItsCallAtTheLimit() {
		ConnectionUse.acquired(this.channel);
		ConnectionUse.released(Connection.from(this.channel), null, Duration.ofSeconds(20), this.idle);
		// The pool hands it to a call of another client, which tells Hangup nothing.
		startCall(this.channel);
		advance(Duration.ofSeconds(30));
		assertThat(this.channel.isOpen()).isTrue();
	}

	@Test
	void noLimitOfOurOwnAndNoHeaderKeepsTheConnection() {
		ConnectionUse.acquired(this.channel);
		ConnectionUse.released(Connection.from(this.channel), null, Duration.ZERO, this.idle);
		advance(Duration.ofDays(1));
		assertThat(this.channel.isOpen()).isTrue();
	}

	@Test
	void connectionClosedWhileIdleGivesUpItsTimerWhichWouldHoldItUntilTheLimit() {
		ConnectionUse.acquired(this.channel);
		ConnectionUse.released(Connection.from(this.channel), null, Duration.ofSeconds(20), this.idle);
		assertThat(this.channel.runScheduledPendingTasks()).as("the idle timer").isPositive();
		// Closed by the upstream, or by a retry closing an upstream's idle connections.
		// (Not this.channel.close(): an embedded channel also cancels its scheduled tasks
		// there, which a real one does not.)
		this.channel.unsafe().close(this.channel.newPromise());
		assertThat(this.channel.runScheduledPendingTasks()).as("nothing scheduled").isEqualTo(-1);
	}

	@Test
	void idleConnectionsOfAnUpstreamAreKnownUntilReusedOrClosed() {
		EmbeddedChannel other = new EmbeddedChannel();
		ConnectionUse.acquired(this.channel);
		ConnectionUse.acquired(other);
		ConnectionUse.released(Connection.from(this.channel), null, Duration.ZERO, this.idle);
		ConnectionUse.released(Connection.from(other), null, Duration.ZERO, this.idle);
		assertThat(this.idle).containsExactlyInAnyOrder(this.channel, other);
		ConnectionUse.acquired(other);
		assertThat(this.idle).containsExactly(this.channel);
		this.channel.close();
		assertThat(this.idle).isEmpty();
		other.finishAndReleaseAll();
	}

	@Test
	void closingTheIdleConnectionsOfAnUpstreamClosesThemAllBeforeItCompletes() {
		EmbeddedChannel other = new EmbeddedChannel();
		for (EmbeddedChannel each : List.of(this.channel, other)) {
			ConnectionUse.acquired(each);
			ConnectionUse.released(Connection.from(each), null, Duration.ZERO, this.idle);
		}
		assertThat(ConnectionUse.isClosedForRetry(this.channel)).isFalse();
		StepVerifier.create(ConnectionUse.closeIdle(this.idle)).verifyComplete();
		assertThat(this.channel.isOpen()).isFalse();
		assertThat(other.isOpen()).isFalse();
		assertThat(this.idle).isEmpty();
		// A request the pool handed one of them to failed before it was sent.
		assertThat(ConnectionUse.isClosedForRetry(this.channel)).isTrue();
		assertThat(ConnectionUse.isClosedForRetry(other)).isTrue();
	}

	@Test
	void closingTheIdleConnectionsOfAnUpstreamLeavesOneThatAClientHangupDoesNotSeeTookMeanwhile() {
		ConnectionUse.acquired(this.channel);
		ConnectionUse.released(Connection.from(this.channel), null, Duration.ZERO, this.idle);
		startCall(this.channel);
		StepVerifier.create(ConnectionUse.closeIdle(this.idle)).verifyComplete();
		assertThat(this.channel.isOpen()).isTrue();
		assertThat(this.idle).isEmpty();
	}

	@ParameterizedTest(name = "Keep-Alive: \"{0}\" -> {1} ms")
	@CsvSource(delimiter = '|', nullValues = "null",
			value = { "timeout=5|4000", "timeout=5, max=1000|4000", "max=3, timeout=2|1000", "TIMEOUT = 1|500",
					"timeout=60|20000", "timeout=0|20000", "timeout=-1|20000", "timeout=abc|20000",
					"timeout=99999999999999999999|20000", "timeout=86401|20000", "max=5|20000", "null|20000" })
	void idleLimitIsTheShorterOfOursAndTheAdvertisedTimeoutLessItsMargin(String header, long millis) {
		assertThat(ConnectionUse.idleLimitNanos(header, Duration.ofSeconds(20)))
			.isEqualTo(TimeUnit.MILLISECONDS.toNanos(millis));
	}

	@Test
	void advertisedTimeoutAppliesAloneWhenWeSetNoLimit() {
		assertThat(ConnectionUse.idleLimitNanos("timeout=75", Duration.ZERO)).isEqualTo(TimeUnit.SECONDS.toNanos(74));
		assertThat(ConnectionUse.idleLimitNanos(null, Duration.ZERO)).isZero();
	}

	/**
	 * A call of a client Hangup does not see starts on the channel: its operations are
	 * bound to it, as Reactor Netty's pool does when it hands the channel out.
	 */
	private static void startCall(EmbeddedChannel channel) {
		new ChannelOperations<>(Connection.from(channel), ConnectionObserver.emptyListener()).bind();
	}

	private void advance(Duration duration) {
		this.channel.advanceTimeBy(duration.toNanos(), TimeUnit.NANOSECONDS);
		this.channel.runPendingTasks();
		this.channel.runScheduledPendingTasks();
	}

}
