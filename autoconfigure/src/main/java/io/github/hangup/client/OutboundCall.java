package io.github.hangup.client;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;

import io.github.hangup.HangupClassifier;
import io.github.hangup.HangupEvent;
import io.github.hangup.HangupKind;
import io.github.hangup.HangupPhase;
import io.github.hangup.HangupRecorder;
import io.github.hangup.HangupSide;
import io.github.hangup.InboundScope;
import io.github.hangup.UpstreamHangupException;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.web.reactive.function.client.ClientResponse;

/**
 * State of one outbound exchange: records its hang-up at most once.
 * <p>
 * A cancel is only a hang-up when the inbound client left. A cancel can arrive before the
 * server side knows (a failed write to the dead client cancels the upstream body before the
 * error reaches the server components), so such a cancel stays pending in the inbound scope
 * until the verdict: {@link #onClientGone()} records it, a normal end of the request drops it.
 */
final class OutboundCall implements InboundScope.Participant {

	private static final int RUNNING = 0;

	private static final int CANCELLED_BEFORE_RESPONSE = 1;

	private static final int CANCELLED_DURING_RESPONSE = 2;

	private static final int FINISHED = 3;

	private final HangupClassifier classifier;

	private final HangupRecorder recorder;

	private final String method;

	private final String upstream;

	private final @Nullable InboundScope scope;

	private final long startNanos = System.nanoTime();

	private final AtomicInteger state = new AtomicInteger(RUNNING);

	OutboundCall(HangupClassifier classifier, HangupRecorder recorder, String method, String upstream,
			@Nullable InboundScope scope) {
		this.classifier = classifier;
		this.recorder = recorder;
		this.method = method;
		this.upstream = upstream;
		this.scope = scope;
	}

	Mono<ClientResponse> exchange(Mono<ClientResponse> response, Duration timeout) {
		if (this.scope != null && !this.scope.join(this)) {
			// The client left before this call started; the chain is being cancelled anyway.
			return response;
		}
		Mono<ClientResponse> timed = timeout.isZero() ? response : response.timeout(timeout);
		return timed.onErrorMap((ex) -> failed(ex, HangupPhase.BEFORE_RESPONSE))
			.doOnCancel(() -> cancelled(HangupPhase.BEFORE_RESPONSE))
			.map((clientResponse) -> clientResponse.mutate().body((body) -> body(body, timeout)).build());
	}

	private Flux<DataBuffer> body(Flux<DataBuffer> body, Duration timeout) {
		Flux<DataBuffer> timed = timeout.isZero() ? body : body.timeout(timeout);
		return timed.onErrorMap((ex) -> failed(ex, HangupPhase.DURING_RESPONSE))
			.doOnCancel(() -> cancelled(HangupPhase.DURING_RESPONSE))
			.doOnComplete(this::finished);
	}

	private Throwable failed(Throwable error, HangupPhase phase) {
		if (!this.state.compareAndSet(RUNNING, FINISHED)) {
			return error;
		}
		leaveScope();
		if (error instanceof UpstreamHangupException) {
			// Already translated and recorded by a filter closer to the connector.
			return error;
		}
		HangupKind kind = this.classifier.classify(error, HangupSide.OUTBOUND);
		if (kind == null || !kind.isUpstream()) {
			return error;
		}
		record(kind, phase, error);
		return UpstreamHangupException.of(kind, phase, this.method, this.upstream, error);
	}

	private void cancelled(HangupPhase phase) {
		if (this.scope == null) {
			return;
		}
		if (this.scope.isClientGone()) {
			if (this.state.compareAndSet(RUNNING, FINISHED)) {
				leaveScope();
				record(HangupKind.CLIENT_CANCEL, phase, null);
			}
			return;
		}
		this.state.compareAndSet(RUNNING,
				(phase == HangupPhase.BEFORE_RESPONSE) ? CANCELLED_BEFORE_RESPONSE : CANCELLED_DURING_RESPONSE);
	}

	private void finished() {
		if (this.state.compareAndSet(RUNNING, FINISHED)) {
			leaveScope();
		}
	}

	@Override
	public void onClientGone() {
		int current = this.state.get();
		if ((current == CANCELLED_BEFORE_RESPONSE || current == CANCELLED_DURING_RESPONSE)
				&& this.state.compareAndSet(current, FINISHED)) {
			record(HangupKind.CLIENT_CANCEL, (current == CANCELLED_BEFORE_RESPONSE) ? HangupPhase.BEFORE_RESPONSE
					: HangupPhase.DURING_RESPONSE, null);
		}
	}

	private void leaveScope() {
		if (this.scope != null) {
			this.scope.leave(this);
		}
	}

	private void record(HangupKind kind, HangupPhase phase, @Nullable Throwable cause) {
		Duration elapsed = Duration.ofNanos(System.nanoTime() - this.startNanos);
		this.recorder.record(new HangupEvent(HangupSide.OUTBOUND, kind, phase, this.method, null, this.upstream,
				elapsed, null, cause));
	}

}
