package io.github.hangup.client;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import io.github.hangup.HangupClassifier;
import io.github.hangup.HangupEvent;
import io.github.hangup.HangupKind;
import io.github.hangup.HangupPhase;
import io.github.hangup.HangupRecorder;
import io.github.hangup.HangupSide;
import io.github.hangup.InboundScope;
import io.github.hangup.UpstreamHangupException;
import io.micrometer.observation.Observation;
import org.jspecify.annotations.Nullable;
import org.reactivestreams.Subscription;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.netty.http.client.HttpClientRequest;

import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.util.ClassUtils;
import org.springframework.web.reactive.function.client.ClientRequest;
import org.springframework.web.reactive.function.client.ClientResponse;

/**
 * State of one outbound exchange (one subscription): records its hang-up at most once and,
 * in {@link PropagationMode#REQUEST}, stops it when the inbound client leaves.
 * <p>
 * A cancel is only a hang-up when the inbound client left. A cancel can arrive before the
 * server side knows (a failed write to the dead client cancels the upstream body before the
 * error reaches the server components), so such a cancel stays pending in the inbound scope
 * until the verdict: {@link #onClientGone()} records it, a normal end of the request drops it.
 */
final class OutboundCall implements InboundScope.Participant {

	private static final boolean REACTOR_NETTY_PRESENT = ClassUtils
		.isPresent("reactor.netty.http.client.HttpClientRequest", OutboundCall.class.getClassLoader());

	private static final int RUNNING = 0;

	private static final int CANCELLED_BEFORE_RESPONSE = 1;

	private static final int CANCELLED_DURING_RESPONSE = 2;

	private static final int FINISHED = 3;

	private final HangupClassifier classifier;

	private final HangupRecorder recorder;

	private final String method;

	private final String upstream;

	private final @Nullable InboundScope scope;

	private final boolean stopWithClient;

	private final AtomicInteger inFlight;

	private final long startNanos = System.nanoTime();

	private final AtomicInteger state = new AtomicInteger(RUNNING);

	private final AtomicBoolean ended = new AtomicBoolean();

	private volatile @Nullable Subscription headers;

	private volatile @Nullable Subscription body;

	private volatile @Nullable ClientResponse response;

	private volatile boolean stopped;

	private volatile boolean bodyCancelled;

	private volatile boolean nativeTimeout;

	private final Sinks.One<Duration> fallbackTimeout = Sinks.one();

	private volatile @Nullable HangupKind recorded;

	private volatile @Nullable Observation observation;

	OutboundCall(HangupClassifier classifier, HangupRecorder recorder, String method, String upstream,
			@Nullable InboundScope scope, boolean stopWithClient, AtomicInteger inFlight) {
		this.classifier = classifier;
		this.recorder = recorder;
		this.method = method;
		this.upstream = upstream;
		this.scope = scope;
		this.stopWithClient = stopWithClient;
		this.inFlight = inFlight;
	}

	/**
	 * Arm the response timeout on the request: Reactor Netty's own read timeout when the
	 * connector is Reactor Netty (no timer per call, nothing to race with late data),
	 * Reactor timers otherwise.
	 */
	ClientRequest withTimeout(ClientRequest request, Duration timeout) {
		if (timeout.isZero()) {
			return request;
		}
		return ClientRequest.from(request).httpRequest((httpRequest) -> {
			if (REACTOR_NETTY_PRESENT && ReactorNetty.responseTimeout(httpRequest.getNativeRequest(), timeout)) {
				this.nativeTimeout = true;
			}
			else {
				this.fallbackTimeout.tryEmitValue(timeout);
			}
		}).build();
	}

	Mono<ClientResponse> exchange(Mono<ClientResponse> source, Duration timeout) {
		this.inFlight.incrementAndGet();
		if (this.scope != null && !this.scope.join(this) && this.stopWithClient) {
			// Subscribed after its client left: do not start it at all.
			this.state.set(FINISHED);
			end();
			record(HangupKind.CLIENT_CANCEL, HangupPhase.BEFORE_RESPONSE, null);
			return Mono.never();
		}
		// The request learns its connector only when sent: the fallback timer is armed then.
		Mono<ClientResponse> timed = timeout.isZero() ? source
				: source.timeout(this.fallbackTimeout.asMono().flatMap(Mono::delay));
		return timed.onErrorMap((ex) -> failed(ex, HangupPhase.BEFORE_RESPONSE))
			.doOnCancel(() -> cancelled(HangupPhase.BEFORE_RESPONSE))
			.map((clientResponse) -> {
				this.response = clientResponse;
				return clientResponse.mutate().body((flux) -> body(flux, timeout)).build();
			})
			.doOnSubscribe((subscription) -> this.headers = subscription);
	}

	private Flux<DataBuffer> body(Flux<DataBuffer> source, Duration timeout) {
		Flux<DataBuffer> timed = (timeout.isZero() || this.nativeTimeout) ? source : source.timeout(timeout);
		Flux<DataBuffer> body = timed.onErrorMap((ex) -> failed(ex, HangupPhase.DURING_RESPONSE))
			.doOnCancel(() -> {
				this.bodyCancelled = true;
				cancelled(HangupPhase.DURING_RESPONSE);
			})
			.doOnComplete(this::finished)
			.doOnSubscribe((subscription) -> {
				this.body = subscription;
				if (this.stopped) {
					subscription.cancel();
				}
			});
		// WebClient releases a body it thinks unread (exchangeToMono) by subscribing again;
		// once cancelled, the connection rejects a second reader with an ERROR log.
		return Flux.defer(() -> this.bodyCancelled ? Flux.empty() : body);
	}

	private Throwable failed(Throwable error, HangupPhase phase) {
		end();
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

	private void cancelled(HangupPhase where) {
		end();
		// Operators such as flatMapMany may cancel the headers Mono after it emitted.
		HangupPhase phase = (this.response != null) ? HangupPhase.DURING_RESPONSE : where;
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
		end();
		if (this.state.compareAndSet(RUNNING, FINISHED)) {
			leaveScope();
		}
	}

	/**
	 * Keep the call's observation, to stop it when the call is stopped from inside.
	 */
	void observe(Observation observation) {
		this.observation = observation;
		observation.getContext().put(OutboundCall.class, this);
	}

	/**
	 * The kind for the call's observation, which may end before this call learns of a cancel.
	 */
	@Nullable HangupKind observedKind(boolean aborted) {
		HangupKind kind = this.recorded;
		if (kind == null && aborted && this.scope != null && this.scope.isClientGone()) {
			kind = HangupKind.CLIENT_CANCEL;
		}
		return kind;
	}

	@Override
	public boolean isCancelled() {
		int current = this.state.get();
		return current == CANCELLED_BEFORE_RESPONSE || current == CANCELLED_DURING_RESPONSE;
	}

	@Override
	public String upstream() {
		return this.upstream;
	}

	@Override
	public void onClientGone() {
		int current = this.state.get();
		if (current == CANCELLED_BEFORE_RESPONSE || current == CANCELLED_DURING_RESPONSE) {
			if (this.state.compareAndSet(current, FINISHED)) {
				record(HangupKind.CLIENT_CANCEL, (current == CANCELLED_BEFORE_RESPONSE)
						? HangupPhase.BEFORE_RESPONSE : HangupPhase.DURING_RESPONSE, null);
			}
		}
		else if (current == RUNNING && this.stopWithClient && this.state.compareAndSet(RUNNING, FINISHED)) {
			record(HangupKind.CLIENT_CANCEL,
					(this.response != null) ? HangupPhase.DURING_RESPONSE : HangupPhase.BEFORE_RESPONSE, null);
			stop();
		}
	}

	/**
	 * Stops a call that left the reactive chain: cancelling our end of it closes the HTTP/1.1
	 * connection or resets the HTTP/2 stream. Its own subscriber gets no signal, which is what
	 * a detached subscriber wants: an error would only be logged as unhandled. A body not
	 * subscribed yet is cancelled as soon as it is.
	 */
	private void stop() {
		this.stopped = true;
		end();
		Subscription bodySubscription = this.body;
		if (bodySubscription != null) {
			bodySubscription.cancel();
		}
		Subscription headersSubscription = this.headers;
		if (headersSubscription != null) {
			headersSubscription.cancel();
		}
		// The WebClient stops its observation on signals from outside this filter, and the
		// stopped call sends none: stop it here so that no active observation leaks.
		Observation current = this.observation;
		if (current != null) {
			current.stop();
		}
	}

	private void end() {
		if (this.ended.compareAndSet(false, true)) {
			this.inFlight.decrementAndGet();
		}
	}

	private void leaveScope() {
		if (this.scope != null) {
			this.scope.leave(this);
		}
	}

	/**
	 * Isolates the Reactor Netty types so that other connectors never load them.
	 */
	private static final class ReactorNetty {

		static boolean responseTimeout(Object nativeRequest, Duration timeout) {
			if (nativeRequest instanceof HttpClientRequest request) {
				request.responseTimeout(timeout);
				return true;
			}
			return false;
		}

	}

	private void record(HangupKind kind, HangupPhase phase, @Nullable Throwable cause) {
		this.recorded = kind;
		Duration elapsed = Duration.ofNanos(System.nanoTime() - this.startNanos);
		this.recorder.record(new HangupEvent(HangupSide.OUTBOUND, kind, phase, this.method, null, this.upstream,
				elapsed, null, cause));
	}

}
