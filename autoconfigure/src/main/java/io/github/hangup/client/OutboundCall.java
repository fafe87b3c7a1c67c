package io.github.hangup.client;

import java.net.URI;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executor;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;
import java.util.concurrent.atomic.AtomicLongFieldUpdater;
import java.util.function.Consumer;
import java.util.function.Supplier;

import io.github.hangup.HangupClassifier;
import io.github.hangup.HangupEvent;
import io.github.hangup.HangupException;
import io.github.hangup.HangupKind;
import io.github.hangup.HangupPhase;
import io.github.hangup.HangupRecorder;
import io.github.hangup.HangupSide;
import io.github.hangup.InboundScope;
import io.micrometer.observation.Observation;
import org.jspecify.annotations.Nullable;
import org.reactivestreams.Publisher;
import org.reactivestreams.Subscription;
import reactor.core.CoreSubscriber;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Operators;
import reactor.core.scheduler.Schedulers;
import reactor.netty.Connection;
import reactor.util.context.Context;

import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.core.io.buffer.DataBufferUtils;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpMethod;
import org.springframework.http.HttpStatus;
import org.springframework.http.client.reactive.ClientHttpRequest;
import org.springframework.http.client.reactive.ClientHttpRequestDecorator;
import org.springframework.util.ClassUtils;
import org.springframework.util.MultiValueMap;
import org.springframework.web.reactive.function.BodyInserter;
import org.springframework.web.reactive.function.BodyInserters;
import org.springframework.web.reactive.function.client.ClientRequest;
import org.springframework.web.reactive.function.client.ClientRequestObservationContext;
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

	/** {@link #signalled}: the downstream got the response; what follows is its body. */
	private static final int SIGNALLED_RESPONSE = 1;

	/** {@link #signalled}: the downstream got an error or an empty completion. */
	private static final int SIGNALLED_TERMINAL = 2;

	/** {@link #signalled}: the downstream cancelled before any signal. */
	private static final int DOWNSTREAM_CANCELLED = 3;

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

	/** Set when the call is stopped with its request: what its waiting subscribers get. */
	private volatile @Nullable HangupException stoppedWith;

	/** The response Mono's downstream has its subscription: it may be signalled. */
	private volatile boolean downstreamSubscribed;

	/** The request body's own source failed, as when the inbound client left mid-upload. */
	private volatile @Nullable Throwable requestBodyError;

	/** The connection's event loop once known: the body's signals are serialized on it. */
	private volatile @Nullable Executor eventLoop;

	private volatile boolean bodyCancelled;

	/** The timeout runs on the connection's event loop, through the body too. */
	private volatile boolean idleTimeout;

	/** When the upstream last sent something, or the request was sent, for the idle timeout. */
	private volatile long lastRead;

	/** The request is sent: the idle timeout counts from then, as Reactor Netty's does. */
	private volatile boolean sent;

	/** The body's reader, for the idle timeout to stop. */
	private volatile @Nullable BodySubscriber reader;

	/** NO_SIGNAL, SIGNALLED_RESPONSE, SIGNALLED_TERMINAL or DOWNSTREAM_CANCELLED. */
	private volatile int signalled;

	/** Set by {@link #start}, before anything can signal the call. */
	@SuppressWarnings("NullAway.Init")
	private CoreSubscriber<? super ClientResponse> actual;

	private Duration timeout = Duration.ZERO;

	private volatile @Nullable Disposable timer;

	private volatile @Nullable HangupKind recorded;

	/** WebClient's observation of this call, if any. */
	private @Nullable ClientRequestObservationContext observed;

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
			// Subscribed after its client left: do not start it at all, but tell its subscriber.
			this.state = FINISHED;
			this.signalled = SIGNALLED_TERMINAL;
			end();
			HangupKind kind = this.scope.goneKind();
			record(kind, HangupPhase.BEFORE_RESPONSE, null);
			StoppedCalls.quietWhenDropped();
			Operators.error(actual, HangupException.of(kind, HangupPhase.BEFORE_RESPONSE, this.method, this.upstream, null));
			return;
		}
		Mono<ClientResponse> response;
		try {
			// The view arms the timeout, learns when the request was sent (an error decoding
			// what came after is the reply's), watches a request body and learns the
			// connection's event loop, on which a call stopped mid-body signals its reader.
			response = next.exchange(new CallRequest(request, this));
		}
		catch (Throwable ex) {
			end();
			Operators.error(actual, Operators.onOperatorError(ex, actual.currentContext()));
			return;
		}
		response.subscribe(this);
	}

	/**
	 * Arm the response timeout when the request is written, which is when it learns its
	 * connector. With Reactor Netty it is an idle timeout on the connection's event loop, as
	 * Reactor Netty's own {@code responseTimeout} is, without adding and removing a handler
	 * in the connection's pipeline and subscribing to the connection's end for every
	 * request. Like Reactor Netty's, it counts from when the request was sent, so that a
	 * slow upload does not time out. Other connectors get a Reactor timer until the response
	 * and a {@code timeout} operator on the body.
	 * @param sent whether to count from now rather than from {@link #requestSent()}
	 */
	private void armTimeout(ClientHttpRequest httpRequest, boolean sent) {
		if (REACTOR_NETTY_PRESENT) {
			this.eventLoop = ReactorNetty.eventLoop(httpRequest.getNativeRequest());
		}
		if (this.timeout.isZero()) {
			return;
		}
		disarm();
		this.lastRead = System.nanoTime();
		this.sent = sent;
		if (REACTOR_NETTY_PRESENT) {
			Disposable idle = ReactorNetty.idleTimer(httpRequest.getNativeRequest(), this, this.timeout.toNanos());
			if (idle != null) {
				this.idleTimeout = true;
				this.timer = idle;
				return;
			}
		}
		if (sent) {
			startTimer();
		}
	}

	private void requestSent() {
		this.sent = true;
		if (this.timeout.isZero()) {
			return;
		}
		this.lastRead = System.nanoTime();
		if (!this.idleTimeout) {
			startTimer();
		}
	}

	private void startTimer() {
		if (this.signalled == NO_SIGNAL) {
			// Should the response win the race with this check, the timer finds it answered.
			this.timer = Schedulers.parallel().schedule(this::timedOut, this.timeout.toNanos(), TimeUnit.NANOSECONDS);
		}
	}

	private void timedOut() {
		if (SIGNALLED.compareAndSet(this, NO_SIGNAL, SIGNALLED_TERMINAL)) {
			Subscription subscription = this.headers;
			if (subscription != null) {
				subscription.cancel();
			}
			this.actual.onError(failed(timeoutException(), HangupPhase.BEFORE_RESPONSE));
		}
	}

	private TimeoutException timeoutException() {
		return new TimeoutException("Nothing received from the upstream for " + this.timeout.toMillis() + " ms");
	}

	/**
	 * The idle timer's check, on the connection's event loop.
	 * @return the nanoseconds left before the call times out, or zero once it did
	 */
	long idleRemaining() {
		if (!this.sent && this.signalled == NO_SIGNAL && this.ended == 0) {
			// Still writing the request: waiting for a response has not begun.
			return this.timeout.toNanos();
		}
		if (this.signalled == SIGNALLED_RESPONSE) {
			BodySubscriber current = this.reader;
			if (current == null || !current.demands()) {
				// Nobody asks for the body (yet, or right now: a slow reader holds it back
				// through backpressure). The upstream is not silent, we are not listening:
				// the clock restarts when demand does.
				return this.timeout.toNanos();
			}
		}
		long remaining = this.timeout.toNanos() - (System.nanoTime() - this.lastRead);
		return (remaining > 0 && this.ended == 0) ? remaining : 0;
	}

	/**
	 * The idle timeout expired, on the connection's event loop: stop the exchange where it is.
	 * @return whether the exchange was stopped; if not, the timer closes the connection
	 */
	boolean idleExpired() {
		if (this.ended != 0) {
			return true;
		}
		if (this.signalled == NO_SIGNAL) {
			timedOut();
			return true;
		}
		BodySubscriber current = this.reader;
		if (current != null) {
			current.timedOut();
			return true;
		}
		return false;
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
			this.downstreamSubscribed = true;
			HangupException stopped = this.stoppedWith;
			if (stopped != null) {
				subscription.cancel();
				release(stopped);
			}
		}
	}

	@Override
	public void onNext(ClientResponse clientResponse) {
		int status;
		try {
			status = clientResponse.statusCode().value();
		}
		catch (IllegalArgumentException ex) {
			// A status Spring cannot even represent (not three digits): WebClient's
			// observation would read it again when it stops, and fail. It records what the
			// caller is told instead.
			ClientRequestObservationContext context = this.observed;
			if (context != null) {
				context.setResponse(ClientResponse.create(HttpStatus.BAD_GATEWAY, clientResponse.strategies()).build());
			}
			rejected(clientResponse, ex);
			return;
		}
		if (status < 200 || status > 599) {
			// Not a status HTTP knows, or a 1xx although WebClient never asks to switch
			// protocols: relayed, it would reach the client as "999 Unknown" or a switch.
			rejected(clientResponse, new IllegalArgumentException("Upstream status " + status
					+ ((status < 100 || status > 599) ? " is outside 100-599" : " is not a final response")));
			return;
		}
		if (!SIGNALLED.compareAndSet(this, NO_SIGNAL, SIGNALLED_RESPONSE)) {
			// The timer, a stop or a cancel got there first: nobody will read this body.
			clientResponse.releaseBody().subscribe();
			return;
		}
		if (!this.idleTimeout) {
			disarm();
		}
		else {
			this.lastRead = System.nanoTime();
		}
		this.actual.onNext(new TrackedResponse(clientResponse, this::body));
	}

	/** A response that is no valid answer: fails the call as the reply's fault. */
	private void rejected(ClientResponse clientResponse, IllegalArgumentException invalid) {
		clientResponse.releaseBody().subscribe();
		onError(invalid);
	}

	private Flux<DataBuffer> body(Flux<DataBuffer> source) {
		return new Body(source, this);
	}

	@Override
	public void onError(Throwable error) {
		if (SIGNALLED.compareAndSet(this, NO_SIGNAL, SIGNALLED_TERMINAL)) {
			disarm();
			this.actual.onError(failed(error, HangupPhase.BEFORE_RESPONSE));
		}
		// Otherwise the timer or a cancel took the call over and stopped the exchange, whose
		// late error is expected and of no interest.
	}

	@Override
	public void onComplete() {
		// After onNext, or empty; never after the timer, a stop or a cancel took the call over.
		if (this.signalled == SIGNALLED_RESPONSE || SIGNALLED.compareAndSet(this, NO_SIGNAL, SIGNALLED_TERMINAL)) {
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
		// The phase is decided by this CAS against onNext's: a response delivered first makes
		// it a cancel during the response (operators may cancel the headers Mono after it emitted).
		boolean responded = !SIGNALLED.compareAndSet(this, NO_SIGNAL, DOWNSTREAM_CANCELLED)
				&& this.signalled == SIGNALLED_RESPONSE;
		disarm();
		// Recorded before the cancel travels upstream, as doOnCancel would.
		cancelled(responded ? HangupPhase.DURING_RESPONSE : HangupPhase.BEFORE_RESPONSE);
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
		if (error instanceof HangupException) {
			// Already translated and recorded by a filter closer to the connector.
			return error;
		}
		HangupKind kind;
		if (this.requestBodyError != null) {
			// The request body's own source failed first: one streamed from a client that
			// left fails the call, whatever error of the connection reaches us. (A call that
			// runs on after its client left, in CHAIN mode, still fails as the upstream's.)
			kind = inboundEnded();
			if (kind == null) {
				return error;
			}
		}
		else {
			kind = this.classifier.classify(error, HangupSide.OUTBOUND);
			if (kind == null && isMalformedReply(error, phase)) {
				kind = HangupKind.UPSTREAM_PROTOCOL_ERROR;
			}
			if (kind == null || !kind.isUpstream()) {
				return error;
			}
		}
		record(kind, phase, error);
		return HangupException.of(kind, phase, this.method, this.upstream, error);
	}

	/**
	 * The kind of a failure caused by the inbound request ending, or {@code null} when the
	 * request body failed for another reason (the application's own error).
	 */
	private @Nullable HangupKind inboundEnded() {
		if (this.scope != null && this.scope.isClientGone()) {
			return this.scope.goneKind();
		}
		Throwable bodyError = this.requestBodyError;
		return (bodyError != null
				&& this.classifier.classify(bodyError, HangupSide.INBOUND) == HangupKind.CLIENT_CANCEL)
				? HangupKind.CLIENT_CANCEL : null;
	}

	/**
	 * Netty's HTTP decoder reports much of what it cannot parse (a status that is not a
	 * number, conflicting Content-Lengths, an invalid chunk size) as a plain
	 * {@link IllegalArgumentException}. Such an error is the reply's once the request was
	 * sent, or in the body, where nothing of ours is parsed; before, it is the request's.
	 */
	private boolean isMalformedReply(Throwable error, HangupPhase phase) {
		if (phase == HangupPhase.BEFORE_RESPONSE && !this.sent) {
			return false;
		}
		int depth = 0;
		for (Throwable t = error; t != null && depth < 8; t = (t.getCause() != t) ? t.getCause() : null, depth++) {
			if (t instanceof IllegalArgumentException) {
				return true;
			}
		}
		return false;
	}

	private void requestBodyFailed(Throwable error) {
		this.requestBodyError = error;
	}

	private void cancelled(HangupPhase phase) {
		end();
		InboundScope inbound = this.scope;
		if (inbound == null) {
			return;
		}
		for (;;) {
			if (this.state != RUNNING) {
				return;
			}
			if (inbound.isClientGone()) {
				if (STATE.compareAndSet(this, RUNNING, FINISHED)) {
					leaveScope();
					record(inbound.goneKind(), phase, null);
					return;
				}
			}
			else if (STATE.compareAndSet(this, RUNNING,
					(phase == HangupPhase.BEFORE_RESPONSE) ? CANCELLED_BEFORE_RESPONSE : CANCELLED_DURING_RESPONSE)) {
				// The scope sets its flag, then looks for cancelled calls; this call changed its
				// state, then looks at the flag: one of the two sees the other, and the one
				// that removes the call from the scope tells it.
				if (inbound.isClientGone() && inbound.leave(this)) {
					onClientGone();
				}
				return;
			}
		}
	}

	private void finished() {
		end();
		if (STATE.compareAndSet(this, RUNNING, FINISHED)) {
			leaveScope();
		}
	}

	/**
	 * Make the call known to its observation, for the {@code hangup} key.
	 */
	void observe(Observation observation) {
		observation.getContext().put(OutboundCall.class, this);
		if (observation.getContext() instanceof ClientRequestObservationContext context) {
			this.observed = context;
		}
	}

	/**
	 * The kind for the call's observation, which may end before this call learns of a cancel.
	 */
	@Nullable HangupKind observedKind(boolean aborted) {
		HangupKind kind = this.recorded;
		if (kind == null && aborted && this.scope != null && this.scope.isClientGone()) {
			kind = this.scope.goneKind();
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
		HangupKind kind = (this.scope != null) ? this.scope.goneKind() : HangupKind.CLIENT_CANCEL;
		for (;;) {
			int current = this.state;
			if (current == CANCELLED_BEFORE_RESPONSE || current == CANCELLED_DURING_RESPONSE) {
				if (STATE.compareAndSet(this, current, FINISHED)) {
					record(kind, (current == CANCELLED_BEFORE_RESPONSE) ? HangupPhase.BEFORE_RESPONSE
							: HangupPhase.DURING_RESPONSE, null);
					return;
				}
			}
			else if (current == RUNNING && this.stopWithClient) {
				if (STATE.compareAndSet(this, RUNNING, FINISHED)) {
					HangupPhase phase = (this.signalled == SIGNALLED_RESPONSE) ? HangupPhase.DURING_RESPONSE
							: HangupPhase.BEFORE_RESPONSE;
					record(kind, phase, null);
					stop(HangupException.of(kind, phase, this.method, this.upstream, null));
					return;
				}
			}
			else {
				// Finished, or running in CHAIN mode: a later cancel sees the client gone.
				return;
			}
		}
	}

	/**
	 * Stops a call that left the reactive chain: cancelling our end of it closes the HTTP/1.1
	 * connection or resets the HTTP/2 stream. Whoever still waits on it (a {@code block()}, a
	 * future, a detached subscriber) then gets the stop as an error at once, the response's
	 * subscriber or the body's reader, whichever is waiting; a body subscribed later gets it
	 * when it subscribes. WebClient ends the call's observation on that signal.
	 */
	private void stop(HangupException stopped) {
		this.stoppedWith = stopped;
		end();
		StoppedCalls.quietWhenDropped();
		Subscription bodySubscription = this.body;
		if (bodySubscription != null) {
			bodySubscription.cancel();
		}
		Subscription headersSubscription = this.headers;
		if (headersSubscription != null) {
			headersSubscription.cancel();
		}
		if (this.downstreamSubscribed) {
			release(stopped);
		}
	}

	/**
	 * Signal a stop to whoever waits: the response's subscriber before the response, the
	 * body's reader after it, on the connection's event loop where the body's other signals
	 * come from.
	 */
	private void release(HangupException stopped) {
		if (SIGNALLED.compareAndSet(this, NO_SIGNAL, SIGNALLED_TERMINAL)) {
			this.actual.onError(stopped);
			return;
		}
		BodySubscriber current = this.reader;
		if (current != null) {
			Executor loop = this.eventLoop;
			if (loop != null) {
				loop.execute(() -> current.stopped(stopped));
			}
			else {
				current.stopped(stopped);
			}
		}
	}

	private void end() {
		if (ENDED.compareAndSet(this, 0, 1)) {
			this.inFlight.decrementAndGet();
			disarm();
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

		static @Nullable Executor eventLoop(Object nativeRequest) {
			return (nativeRequest instanceof Connection connection) ? connection.channel().eventLoop() : null;
		}

		static @Nullable Disposable idleTimer(Object nativeRequest, OutboundCall call, long nanos) {
			if (nativeRequest instanceof Connection connection) {
				IdleTimer timer = new IdleTimer(connection, call);
				timer.schedule(nanos);
				return timer;
			}
			return null;
		}

	}

	/**
	 * The response timeout of a Reactor Netty connection: fires when nothing arrived for the
	 * timeout, before the response or between two chunks of its body. One task on the
	 * connection's event loop, which reschedules itself while data keeps arriving.
	 */
	private static final class IdleTimer implements Disposable, Runnable {

		private final Connection connection;

		private final OutboundCall call;

		private volatile @Nullable Future<?> task;

		private volatile boolean disposed;

		IdleTimer(Connection connection, OutboundCall call) {
			this.connection = connection;
			this.call = call;
		}

		void schedule(long nanos) {
			Future<?> scheduled = this.connection.channel().eventLoop().schedule(this, nanos, TimeUnit.NANOSECONDS);
			this.task = scheduled;
			if (this.disposed) {
				// Disposed while scheduling: the check in run() would only have found it later.
				scheduled.cancel(false);
			}
		}

		@Override
		public void run() {
			if (this.disposed) {
				return;
			}
			long remaining = this.call.idleRemaining();
			if (remaining > 0) {
				schedule(remaining);
			}
			else if (!this.call.idleExpired()) {
				this.connection.dispose();
			}
		}

		@Override
		public void dispose() {
			this.disposed = true;
			Future<?> scheduled = this.task;
			if (scheduled != null) {
				scheduled.cancel(false);
			}
		}

		@Override
		public boolean isDisposed() {
			return this.disposed;
		}

	}

	/**
	 * The response body as the call's downstream reads it: one operator that classifies its
	 * failures, sees its cancel, its end and its demand.
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
			HangupException stopped = this.call.stoppedWith;
			if (stopped != null) {
				Operators.error(actual, stopped);
				return;
			}
			Duration timeout = this.call.timeout;
			Flux<DataBuffer> timed = (timeout.isZero() || this.call.idleTimeout) ? this.source
					: this.source.timeout(timeout);
			timed.subscribe(new BodySubscriber(actual, this.call));
		}

	}

	private static final class BodySubscriber implements CoreSubscriber<DataBuffer>, Subscription {

		private static final AtomicIntegerFieldUpdater<BodySubscriber> DONE = AtomicIntegerFieldUpdater
			.newUpdater(BodySubscriber.class, "done");

		private static final AtomicLongFieldUpdater<BodySubscriber> REQUESTED = AtomicLongFieldUpdater
			.newUpdater(BodySubscriber.class, "requested");

		private final CoreSubscriber<? super DataBuffer> actual;

		private final OutboundCall call;

		private @Nullable Subscription upstream;

		/** 1 once the reader got its terminal signal, from the source, the timeout or a stop. */
		private volatile int done;

		/** Demand not yet served: the response timeout only counts while there is some. */
		private volatile long requested;

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
				this.call.reader = this;
				this.actual.onSubscribe(this);
				HangupException stopped = this.call.stoppedWith;
				if (stopped != null) {
					subscription.cancel();
					stopped(stopped);
				}
			}
		}

		@Override
		public void onNext(DataBuffer buffer) {
			if (this.done != 0) {
				DataBufferUtils.release(buffer);
				return;
			}
			Operators.produced(REQUESTED, this, 1);
			if (this.call.idleTimeout) {
				this.call.lastRead = System.nanoTime();
			}
			this.actual.onNext(buffer);
		}

		@Override
		public void onError(Throwable error) {
			// After the timeout or a stop, the error of the connection they closed is no news.
			if (DONE.compareAndSet(this, 0, 1)) {
				this.actual.onError(this.call.failed(error, HangupPhase.DURING_RESPONSE));
			}
		}

		@Override
		public void onComplete() {
			if (DONE.compareAndSet(this, 0, 1)) {
				this.call.finished();
				this.actual.onComplete();
			}
		}

		boolean demands() {
			return this.requested != 0;
		}

		void timedOut() {
			end(() -> this.call.failed(this.call.timeoutException(), HangupPhase.DURING_RESPONSE));
		}

		/** The call was stopped with its request. */
		void stopped(HangupException stopped) {
			end(() -> stopped);
		}

		/**
		 * End the body for its reader from outside the source, once; like a cancel, it leaves
		 * nothing for WebClient to release.
		 */
		private void end(Supplier<Throwable> error) {
			if (DONE.compareAndSet(this, 0, 1)) {
				this.call.bodyCancelled = true;
				Subscription subscription = this.upstream;
				if (subscription != null) {
					subscription.cancel();
				}
				this.actual.onError(error.get());
			}
		}

		@Override
		public void request(long n) {
			if (Operators.validate(n) && Operators.addCap(REQUESTED, this, n) == 0 && this.call.idleTimeout) {
				// Waiting for the upstream starts again now, not when the reader last paused.
				this.call.lastRead = System.nanoTime();
			}
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
	 * The request as sent: arms the response timeout when it is written, counting once it is
	 * sent, and watches its body's own source, whose failure is not the upstream's. A view
	 * rather than {@code ClientRequest.from(request)}, which copies headers, cookies and
	 * attributes.
	 */
	private static final class CallRequest implements ClientRequest {

		private final ClientRequest request;

		private final OutboundCall call;

		CallRequest(ClientRequest request, OutboundCall call) {
			this.request = request;
			this.call = call;
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
			// A filter further down may copy this request with ClientRequest.from(), and the
			// copy writes itself: the timeout then counts from when the writing starts.
			Consumer<ClientHttpRequest> arm = (httpRequest) -> this.call.armTimeout(httpRequest, true);
			Consumer<ClientHttpRequest> own = this.request.httpRequest();
			return (own != null) ? arm.andThen(own) : arm;
		}

		@Override
		public String logPrefix() {
			return this.request.logPrefix();
		}

		@Override
		public Mono<Void> writeTo(ClientHttpRequest httpRequest, ExchangeStrategies strategies) {
			this.call.armTimeout(httpRequest, false);
			ClientHttpRequest watched = (this.request.body() != BodyInserters.empty())
					? new BodyWatchingRequest(httpRequest, this.call) : httpRequest;
			return this.request.writeTo(watched, strategies).doOnSuccess((ignored) -> this.call.requestSent());
		}

	}

	/**
	 * Sees the request body's source fail before the connector turns that into a failed
	 * exchange that looks like the upstream's.
	 */
	private static final class BodyWatchingRequest extends ClientHttpRequestDecorator {

		private final OutboundCall call;

		BodyWatchingRequest(ClientHttpRequest delegate, OutboundCall call) {
			super(delegate);
			this.call = call;
		}

		@Override
		public Mono<Void> writeWith(Publisher<? extends DataBuffer> body) {
			// A Mono body stays a Mono: the connector sends it with a Content-Length.
			Publisher<? extends DataBuffer> watched = (body instanceof Mono<? extends DataBuffer> mono)
					? mono.doOnError(this.call::requestBodyFailed) : Flux.from(body).doOnError(this.call::requestBodyFailed);
			return super.writeWith(watched);
		}

		@Override
		public Mono<Void> writeAndFlushWith(Publisher<? extends Publisher<? extends DataBuffer>> body) {
			return super.writeAndFlushWith(Flux.from(body)
				.map((chunk) -> Flux.from(chunk).doOnError(this.call::requestBodyFailed))
				.doOnError(this.call::requestBodyFailed));
		}

	}

	private void record(HangupKind kind, HangupPhase phase, @Nullable Throwable cause) {
		this.recorded = kind;
		Duration elapsed = Duration.ofNanos(System.nanoTime() - this.startNanos);
		this.recorder.record(new HangupEvent(HangupSide.OUTBOUND, kind, phase, this.method, null, this.upstream,
				elapsed, null, cause));
	}

}
