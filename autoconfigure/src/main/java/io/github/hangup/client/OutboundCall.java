package io.github.hangup.client;

import java.net.URI;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;
import java.util.function.Consumer;

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
import reactor.core.CoreSubscriber;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Operators;
import reactor.core.scheduler.Schedulers;
import reactor.netty.http.client.HttpClientRequest;
import reactor.util.context.Context;

import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpMethod;
import org.springframework.http.client.reactive.ClientHttpRequest;
import org.springframework.util.ClassUtils;
import org.springframework.util.MultiValueMap;
import org.springframework.web.reactive.function.BodyInserter;
import org.springframework.web.reactive.function.client.ClientRequest;
import org.springframework.web.reactive.function.client.ClientResponse;
import org.springframework.web.reactive.function.client.ExchangeFunction;
import org.springframework.web.reactive.function.client.ExchangeStrategies;

/**
 * State of one outbound exchange (one subscription): records its hang-up at most once and,
 * in {@link PropagationMode#REQUEST}, stops it when the inbound client leaves.
 * <p>
 * A cancel is only a hang-up when the inbound client left. A cancel can arrive before the
 * server side knows (a failed write to the dead client cancels the upstream body before the
 * error reaches the server components), so such a cancel stays pending in the inbound scope
 * until the verdict: {@link #onClientGone()} records it, a normal end of the request drops it.
 * <p>
 * The call is itself the subscriber of the response {@code Mono} and the subscription its
 * downstream sees, and its body is one operator: every proxied request pays for these, so
 * they replace a chain of Reactor operators.
 */
final class OutboundCall implements InboundScope.Participant, CoreSubscriber<ClientResponse>, Subscription {

	private static final boolean REACTOR_NETTY_PRESENT = ClassUtils
		.isPresent("reactor.netty.http.client.HttpClientRequest", OutboundCall.class.getClassLoader());

	private static final int RUNNING = 0;

	private static final int CANCELLED_BEFORE_RESPONSE = 1;

	private static final int CANCELLED_DURING_RESPONSE = 2;

	private static final int FINISHED = 3;

	/** {@link #signalled}: the response Mono's downstream got no signal yet. */
	private static final int NO_SIGNAL = 0;

	/** {@link #signalled}: the downstream got the response or an error. */
	private static final int SIGNALLED_DOWNSTREAM = 1;

	/** {@link #signalled}: the downstream cancelled before any signal. */
	private static final int DOWNSTREAM_CANCELLED = 2;

	private static final AtomicIntegerFieldUpdater<OutboundCall> STATE = AtomicIntegerFieldUpdater
		.newUpdater(OutboundCall.class, "state");

	private static final AtomicIntegerFieldUpdater<OutboundCall> ENDED = AtomicIntegerFieldUpdater
		.newUpdater(OutboundCall.class, "ended");

	private static final AtomicIntegerFieldUpdater<OutboundCall> SIGNALLED = AtomicIntegerFieldUpdater
		.newUpdater(OutboundCall.class, "signalled");

	private final HangupClassifier classifier;

	private final HangupRecorder recorder;

	private final String method;

	private final String upstream;

	private final @Nullable InboundScope scope;

	private final boolean stopWithClient;

	private final AtomicInteger inFlight;

	private final long startNanos = System.nanoTime();

	/** RUNNING, CANCELLED_BEFORE_RESPONSE, CANCELLED_DURING_RESPONSE or FINISHED. */
	private volatile int state = RUNNING;

	/** 1 once the call no longer counts as in flight. */
	private volatile int ended;

	private volatile @Nullable Subscription headers;

	private volatile @Nullable Subscription body;

	private volatile @Nullable ClientResponse response;

	private volatile boolean stopped;

	private volatile boolean bodyCancelled;

	private volatile boolean nativeTimeout;

	/** NO_SIGNAL, SIGNALLED_DOWNSTREAM or DOWNSTREAM_CANCELLED. */
	private volatile int signalled;

	private @Nullable CoreSubscriber<? super ClientResponse> actual;

	private Duration timeout = Duration.ZERO;

	private volatile @Nullable Disposable timer;

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
	 * Start the exchange for {@code actual}: the call is the subscriber of the response
	 * {@code Mono} and the subscription its downstream sees, so that a healthy call costs one
	 * object rather than a chain of operators.
	 */
	void start(ClientRequest request, ExchangeFunction next, Duration timeout,
			CoreSubscriber<? super ClientResponse> actual) {
		this.actual = actual;
		this.timeout = timeout;
		this.inFlight.incrementAndGet();
		if (this.scope != null && !this.scope.join(this) && this.stopWithClient) {
			// Subscribed after its client left: do not start it at all.
			this.state = FINISHED;
			this.signalled = SIGNALLED_DOWNSTREAM;
			end();
			record(HangupKind.CLIENT_CANCEL, HangupPhase.BEFORE_RESPONSE, null);
			actual.onSubscribe(Operators.emptySubscription());
			return;
		}
		Mono<ClientResponse> response;
		try {
			response = next.exchange(timeout.isZero() ? request : new TimedRequest(request, this::armTimeout));
		}
		catch (Throwable ex) {
			end();
			Operators.error(actual, Operators.onOperatorError(ex, actual.currentContext()));
			return;
		}
		response.subscribe(this);
	}

	/**
	 * Arm the response timeout once the request is sent, which is when it learns its
	 * connector: Reactor Netty's own read timeout (no timer per call, nothing to race with
	 * late data), a Reactor timer otherwise.
	 */
	private void armTimeout(ClientHttpRequest httpRequest) {
		Duration duration = this.timeout;
		if (REACTOR_NETTY_PRESENT && ReactorNetty.responseTimeout(httpRequest.getNativeRequest(), duration)) {
			this.nativeTimeout = true;
		}
		else if (this.signalled == NO_SIGNAL) {
			this.timer = Schedulers.parallel().schedule(this::timedOut, duration.toNanos(), TimeUnit.NANOSECONDS);
		}
	}

	private void timedOut() {
		if (SIGNALLED.compareAndSet(this, NO_SIGNAL, SIGNALLED_DOWNSTREAM)) {
			Subscription subscription = this.headers;
			if (subscription != null) {
				subscription.cancel();
			}
			this.actual.onError(failed(new TimeoutException("No response within " + this.timeout.toMillis() + " ms"),
					HangupPhase.BEFORE_RESPONSE));
		}
	}

	@Override
	public Context currentContext() {
		return this.actual.currentContext();
	}

	@Override
	public void onSubscribe(Subscription subscription) {
		if (Operators.validate(this.headers, subscription)) {
			this.headers = subscription;
			this.actual.onSubscribe(this);
			if (this.stopped) {
				subscription.cancel();
			}
		}
	}

	@Override
	public void onNext(ClientResponse clientResponse) {
		if (!SIGNALLED.compareAndSet(this, NO_SIGNAL, SIGNALLED_DOWNSTREAM)) {
			// The timer or a cancel got there first: nobody will read this body.
			clientResponse.releaseBody().subscribe();
			return;
		}
		disarm();
		this.response = clientResponse;
		this.actual.onNext(new TrackedResponse(clientResponse, this::body));
	}

	private Flux<DataBuffer> body(Flux<DataBuffer> source) {
		return new Body(source, this);
	}

	@Override
	public void onError(Throwable error) {
		if (SIGNALLED.compareAndSet(this, NO_SIGNAL, SIGNALLED_DOWNSTREAM)) {
			disarm();
			this.actual.onError(failed(error, HangupPhase.BEFORE_RESPONSE));
		}
		// Otherwise the timer or a cancel took the call over and stopped the exchange, whose
		// late error is expected and of no interest.
	}

	@Override
	public void onComplete() {
		// After onNext, or empty; never after the timer or a cancel took the call over.
		if (this.response != null || SIGNALLED.compareAndSet(this, NO_SIGNAL, SIGNALLED_DOWNSTREAM)) {
			this.actual.onComplete();
		}
	}

	@Override
	public void request(long n) {
		Subscription subscription = this.headers;
		if (subscription != null) {
			subscription.request(n);
		}
	}

	@Override
	public void cancel() {
		SIGNALLED.compareAndSet(this, NO_SIGNAL, DOWNSTREAM_CANCELLED);
		disarm();
		// Recorded before the cancel travels upstream, as doOnCancel would.
		cancelled(HangupPhase.BEFORE_RESPONSE);
		Subscription subscription = this.headers;
		if (subscription != null) {
			subscription.cancel();
		}
	}

	private void disarm() {
		Disposable armed = this.timer;
		if (armed != null) {
			armed.dispose();
		}
	}

	private Throwable failed(Throwable error, HangupPhase phase) {
		end();
		if (!STATE.compareAndSet(this, RUNNING, FINISHED)) {
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
			if (STATE.compareAndSet(this, RUNNING, FINISHED)) {
				leaveScope();
				record(HangupKind.CLIENT_CANCEL, phase, null);
			}
			return;
		}
		STATE.compareAndSet(this, RUNNING,
				(phase == HangupPhase.BEFORE_RESPONSE) ? CANCELLED_BEFORE_RESPONSE : CANCELLED_DURING_RESPONSE);
	}

	private void finished() {
		end();
		if (STATE.compareAndSet(this, RUNNING, FINISHED)) {
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
		int current = this.state;
		return current == CANCELLED_BEFORE_RESPONSE || current == CANCELLED_DURING_RESPONSE;
	}

	@Override
	public String upstream() {
		return this.upstream;
	}

	@Override
	public void onClientGone() {
		int current = this.state;
		if (current == CANCELLED_BEFORE_RESPONSE || current == CANCELLED_DURING_RESPONSE) {
			if (STATE.compareAndSet(this, current, FINISHED)) {
				record(HangupKind.CLIENT_CANCEL, (current == CANCELLED_BEFORE_RESPONSE)
						? HangupPhase.BEFORE_RESPONSE : HangupPhase.DURING_RESPONSE, null);
			}
		}
		else if (current == RUNNING && this.stopWithClient && STATE.compareAndSet(this, RUNNING, FINISHED)) {
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
		if (ENDED.compareAndSet(this, 0, 1)) {
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

	/**
	 * The response body as the call's downstream reads it: one operator that classifies its
	 * failures, sees its cancel and its end.
	 */
	private static final class Body extends Flux<DataBuffer> {

		private final Flux<DataBuffer> source;

		private final OutboundCall call;

		Body(Flux<DataBuffer> source, OutboundCall call) {
			this.source = source;
			this.call = call;
		}

		@Override
		public void subscribe(CoreSubscriber<? super DataBuffer> actual) {
			if (this.call.bodyCancelled) {
				// WebClient releases a body it thinks unread (exchangeToMono) by subscribing
				// again; once cancelled, the connection rejects a second reader with an ERROR log.
				Operators.complete(actual);
				return;
			}
			Duration timeout = this.call.timeout;
			Flux<DataBuffer> timed = (timeout.isZero() || this.call.nativeTimeout) ? this.source
					: this.source.timeout(timeout);
			timed.subscribe(new BodySubscriber(actual, this.call));
		}

	}

	private static final class BodySubscriber implements CoreSubscriber<DataBuffer>, Subscription {

		private final CoreSubscriber<? super DataBuffer> actual;

		private final OutboundCall call;

		private @Nullable Subscription upstream;

		BodySubscriber(CoreSubscriber<? super DataBuffer> actual, OutboundCall call) {
			this.actual = actual;
			this.call = call;
		}

		@Override
		public Context currentContext() {
			return this.actual.currentContext();
		}

		@Override
		public void onSubscribe(Subscription subscription) {
			if (Operators.validate(this.upstream, subscription)) {
				this.upstream = subscription;
				this.call.body = subscription;
				if (this.call.stopped) {
					subscription.cancel();
				}
				this.actual.onSubscribe(this);
			}
		}

		@Override
		public void onNext(DataBuffer buffer) {
			this.actual.onNext(buffer);
		}

		@Override
		public void onError(Throwable error) {
			this.actual.onError(this.call.failed(error, HangupPhase.DURING_RESPONSE));
		}

		@Override
		public void onComplete() {
			this.call.finished();
			this.actual.onComplete();
		}

		@Override
		public void request(long n) {
			Subscription subscription = this.upstream;
			if (subscription != null) {
				subscription.request(n);
			}
		}

		@Override
		public void cancel() {
			this.call.bodyCancelled = true;
			this.call.cancelled(HangupPhase.DURING_RESPONSE);
			Subscription subscription = this.upstream;
			if (subscription != null) {
				subscription.cancel();
			}
		}

	}

	/**
	 * The request as sent, with the response timeout armed when it is written. A view rather
	 * than {@code ClientRequest.from(request)}, which copies headers, cookies and attributes.
	 */
	private static final class TimedRequest implements ClientRequest {

		private final ClientRequest request;

		private final Consumer<ClientHttpRequest> arm;

		TimedRequest(ClientRequest request, Consumer<ClientHttpRequest> arm) {
			this.request = request;
			this.arm = arm;
		}

		@Override
		public HttpMethod method() {
			return this.request.method();
		}

		@Override
		public URI url() {
			return this.request.url();
		}

		@Override
		public HttpHeaders headers() {
			return this.request.headers();
		}

		@Override
		public MultiValueMap<String, String> cookies() {
			return this.request.cookies();
		}

		@Override
		public BodyInserter<?, ? super ClientHttpRequest> body() {
			return this.request.body();
		}

		@Override
		public Optional<Object> attribute(String name) {
			return this.request.attribute(name);
		}

		@Override
		public Map<String, Object> attributes() {
			return this.request.attributes();
		}

		@Override
		public Consumer<ClientHttpRequest> httpRequest() {
			// A filter further down may copy this request with ClientRequest.from().
			Consumer<ClientHttpRequest> own = this.request.httpRequest();
			return (own != null) ? this.arm.andThen(own) : this.arm;
		}

		@Override
		public String logPrefix() {
			return this.request.logPrefix();
		}

		@Override
		public Mono<Void> writeTo(ClientHttpRequest httpRequest, ExchangeStrategies strategies) {
			this.arm.accept(httpRequest);
			return this.request.writeTo(httpRequest, strategies);
		}

	}

	private void record(HangupKind kind, HangupPhase phase, @Nullable Throwable cause) {
		this.recorded = kind;
		Duration elapsed = Duration.ofNanos(System.nanoTime() - this.startNanos);
		this.recorder.record(new HangupEvent(HangupSide.OUTBOUND, kind, phase, this.method, null, this.upstream,
				elapsed, null, cause));
	}

}
