package io.github.hangup.client;

import java.util.concurrent.atomic.AtomicReferenceFieldUpdater;

import io.github.hangup.HangupException;
import io.github.hangup.HangupPhase;
import org.jspecify.annotations.Nullable;
import org.reactivestreams.Subscription;
import reactor.core.CoreSubscriber;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Operators;
import reactor.util.context.Context;

import org.springframework.http.HttpStatus;
import org.springframework.http.InvalidMediaTypeException;
import org.springframework.http.MediaType;
import org.springframework.web.reactive.function.client.ClientRequest;
import org.springframework.web.reactive.function.client.ClientRequestObservationContext;
import org.springframework.web.reactive.function.client.ClientResponse;
import org.springframework.web.reactive.function.client.ExchangeFunction;

/**
 * The subscriber of a call's response {@code Mono} and the subscription its downstream
 * sees: one object rather than a chain of operators. Hands the downstream the response
 * with its {@link TrackedBody}, or the call's failure, timeout or stop, whichever comes
 * first.
 */
final class CallSubscriber implements CoreSubscriber<ClientResponse>, Subscription {

	private static final AtomicReferenceFieldUpdater<CallSubscriber, @Nullable Subscription> HEADERS = AtomicReferenceFieldUpdater
		.newUpdater(CallSubscriber.class, Subscription.class, "headers");

	private final OutboundCall call;

	private final CallState state;

	private final CoreSubscriber<? super ClientResponse> actual;

	private volatile @Nullable Subscription headers;

	/** The response's body, once the downstream got the response. */
	private volatile @Nullable TrackedBody body;

	/**
	 * Set when the call is stopped with its request: what its waiting subscribers get.
	 */
	private volatile @Nullable HangupException stoppedWith;

	/**
	 * The timer's error, set before the call is marked failed, for a downstream not yet
	 * subscribed.
	 */
	private volatile @Nullable Throwable failure;

	CallSubscriber(OutboundCall call, CallState state, CoreSubscriber<? super ClientResponse> actual) {
		this.call = call;
		this.state = state;
		this.actual = actual;
	}

	/** Start the exchange, with the call's view of its request. */
	void exchange(ClientRequest request, ExchangeFunction next) {
		Mono<ClientResponse> response;
		try {
			// The view arms the timeout, learns when the request was sent (an error
			// decoding what came after is the reply's), watches a request body and learns
			// the connection's event loop, on which a call stopped mid-body signals its
			// reader.
			response = this.call.exchange(next, new CallRequest(request, this.call));
		}
		catch (Throwable ex) {
			this.call.end();
			if (this.state.signal(CallState.TERMINATED)) {
				Operators.error(this.actual, Operators.onOperatorError(ex, this.actual.currentContext()));
			}
			else {
				// The timer got there first: its error waits for the downstream's
				// subscription.
				onSubscribe(Operators.cancelledSubscription());
			}
			return;
		}
		response.subscribe(this);
	}

	/** Who waits for the response. */
	CoreSubscriber<? super ClientResponse> downstream() {
		return this.actual;
	}

	@Nullable TrackedBody body() {
		return this.body;
	}

	@Nullable HangupException stoppedWith() {
		return this.stoppedWith;
	}

	@Override
	public Context currentContext() {
		return this.actual.currentContext();
	}

	@Override
	public void onSubscribe(Subscription subscription) {
		// A call stopped before its exchange subscribed finds the headers cancelled: its
		// downstream still gets its subscription, then the stop.
		if (Operators.setOnce(HEADERS, this, subscription) || this.headers == Operators.cancelledSubscription()) {
			this.actual.onSubscribe(this);
			int before = this.state.subscribed();
			if (CallState.wasStopped(before)) {
				// Stopped before: the stop was set before the call was marked stopped.
				HangupException stopped = this.stoppedWith;
				if (stopped != null) {
					release(stopped);
				}
			}
			else if (CallState.wasFailed(before)) {
				Throwable failed = this.failure;
				if (failed != null) {
					this.actual.onError(failed);
				}
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
			// observation would read it again when it stops, and fail. It records what
			// the caller is told instead.
			ClientRequestObservationContext context = this.call.observed();
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
		if (!this.state.signal(CallState.RESPONDED)) {
			// The timer, a stop or a cancel got there first: nobody will read this body.
			clientResponse.releaseBody().subscribe();
			return;
		}
		this.call.responded(clientResponse);
		TrackedBody tracked = new TrackedBody(this.call);
		this.body = tracked;
		this.call.timeout().responded(contentType(clientResponse));
		this.actual.onNext(new TrackedResponse(clientResponse, tracked));
	}

	private static @Nullable MediaType contentType(ClientResponse response) {
		try {
			return response.headers().contentType().orElse(null);
		}
		catch (InvalidMediaTypeException ex) {
			// Not one the application can read either: no stream of ours.
			return null;
		}
	}

	/** A response that is no valid answer: fails the call as the reply's fault. */
	private void rejected(ClientResponse clientResponse, IllegalArgumentException invalid) {
		clientResponse.releaseBody().subscribe();
		onError(invalid);
	}

	@Override
	public void onError(Throwable error) {
		if (this.state.signal(CallState.TERMINATED)) {
			this.call.timeout().disarm();
			this.actual.onError(this.call.failed(error, HangupPhase.BEFORE_RESPONSE));
		}
		// Otherwise the timer or a cancel took the call over and stopped the exchange,
		// whose late error is expected and of no interest.
	}

	@Override
	public void onComplete() {
		// After onNext, or empty; never after the timer, a stop or a cancel took the call
		// over.
		if (this.state.isResponded()) {
			this.actual.onComplete();
		}
		else if (this.state.signal(CallState.TERMINATED)) {
			// No response, so no body whose end would end the call: it ends here.
			this.call.completedEmpty();
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
		// The phase is decided by this CAS against onNext's: a response delivered first
		// makes it a cancel during the response (operators may cancel the headers Mono
		// after it emitted).
		this.state.signal(CallState.DOWNSTREAM_CANCELLED);
		this.call.timeout().disarm();
		// Recorded before the cancel travels upstream, as doOnCancel would.
		this.call.cancelled();
		Operators.terminate(HEADERS, this);
	}

	/** The response timeout expired before the response. */
	void timedOut() {
		if (this.state.signal(CallState.TERMINATED)) {
			Operators.terminate(HEADERS, this);
			Throwable failed = this.call.failed(this.call.timeout().exception(), HangupPhase.BEFORE_RESPONSE);
			// The timer is armed before the exchange is subscribed: it may fire before
			// the downstream has its subscription, which then delivers the error.
			this.failure = failed;
			if (this.state.failed()) {
				this.actual.onError(failed);
			}
		}
	}

	/**
	 * The call is refused before it starts: its downstream gets {@code refused} at once.
	 */
	void refuse(HangupException refused) {
		this.state.signal(CallState.TERMINATED);
		this.call.stopping();
		Operators.error(this.actual, refused);
	}

	/**
	 * Stops a call that left the reactive chain: cancelling our end of it closes the
	 * HTTP/1.1 connection or resets the HTTP/2 stream. Whoever still waits on it (a
	 * {@code block()}, a future, a detached subscriber) then gets the stop as an error at
	 * once, the response's subscriber or the body's reader, whichever is waiting; a body
	 * subscribed later gets it when it subscribes. WebClient ends the call's observation
	 * on that signal.
	 */
	void stop(HangupException stopped) {
		this.stoppedWith = stopped;
		this.call.end();
		this.call.stopping();
		TrackedBody tracked = this.body;
		if (tracked != null) {
			tracked.cancel();
		}
		Operators.terminate(HEADERS, this);
		if (this.state.stopped()) {
			release(stopped);
		}
	}

	/**
	 * Signal a stop to whoever waits: the response's subscriber before the response, the
	 * body's reader after it, on the connection's event loop where the body's other
	 * signals come from.
	 */
	private void release(HangupException stopped) {
		if (this.state.signal(CallState.TERMINATED)) {
			this.actual.onError(stopped);
			return;
		}
		TrackedBody tracked = this.body;
		if (tracked != null) {
			tracked.release(stopped, this.call.timeout().eventLoop());
		}
	}

}
