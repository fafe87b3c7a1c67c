package io.github.hangup.client;

import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;
import java.util.concurrent.atomic.AtomicLongFieldUpdater;
import java.util.concurrent.atomic.AtomicReferenceFieldUpdater;
import java.util.function.Supplier;

import io.github.hangup.HangupException;
import io.github.hangup.HangupPhase;
import org.jspecify.annotations.Nullable;
import org.reactivestreams.Subscription;
import reactor.core.CoreSubscriber;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Operators;
import reactor.util.context.Context;

import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.core.io.buffer.DataBufferUtils;
import org.springframework.http.client.reactive.ClientHttpResponse;
import org.springframework.http.client.reactive.ClientHttpResponseDecorator;

/**
 * The response body of one call, however often it is read: every read of the connector's
 * body goes through one operator that classifies its failures, sees its cancel, its end
 * and its demand, and can be ended from outside by the timeout or a stop.
 */
final class TrackedBody {

	private final OutboundCall call;

	/**
	 * A reader cancelled, or was ended from outside: WebClient releases a body it thinks
	 * unread (exchangeToMono) by subscribing again, and the connection would reject a
	 * second reader with an ERROR log.
	 */
	private volatile boolean cut;

	/** The latest reader, for the timeout and a stop to end. */
	private volatile @Nullable Reader reader;

	TrackedBody(OutboundCall call) {
		this.call = call;
	}

	/** The connector's response with its body read through this one. */
	ClientHttpResponse wrap(ClientHttpResponse response) {
		return new Message(response, this);
	}

	/** The body as the call's downstream reads it. */
	Flux<DataBuffer> track(Flux<DataBuffer> source) {
		return new Source(source, this);
	}

	/** Who reads the body now, if anyone. */
	@Nullable Object downstream() {
		Reader current = this.reader;
		return (current != null) ? current.actual : null;
	}

	boolean demands() {
		Reader current = this.reader;
		return current != null && current.requested != 0;
	}

	/**
	 * The response timeout expired mid-body. @return whether there was a reader to end
	 */
	boolean timedOut() {
		Reader current = this.reader;
		if (current == null) {
			return false;
		}
		current.end(() -> this.call.failed(this.call.timeout().exception(), HangupPhase.DURING_RESPONSE));
		return true;
	}

	/** The call is stopped: cancel the body at once, before its reader is told. */
	void cancel() {
		Reader current = this.reader;
		if (current != null) {
			Operators.terminate(Reader.UPSTREAM, current);
		}
	}

	/** Tell the reader of the stop, on the connection's event loop if known. */
	void release(HangupException stopped, @Nullable Executor eventLoop) {
		Reader current = this.reader;
		if (current != null && eventLoop != null) {
			eventLoop.execute(() -> current.end(() -> stopped));
		}
		else if (current != null) {
			current.end(() -> stopped);
		}
	}

	/** The connector's response whose body is read through the call. */
	private static final class Message extends ClientHttpResponseDecorator {

		private final TrackedBody body;

		Message(ClientHttpResponse delegate, TrackedBody body) {
			super(delegate);
			this.body = body;
		}

		@Override
		public Flux<DataBuffer> getBody() {
			return this.body.track(getDelegate().getBody());
		}

	}

	/** A reader per subscription, unless there is nothing left to read. */
	private static final class Source extends Flux<DataBuffer> {

		private final Flux<DataBuffer> source;

		private final TrackedBody body;

		Source(Flux<DataBuffer> source, TrackedBody body) {
			this.source = source;
			this.body = body;
		}

		@Override
		public void subscribe(CoreSubscriber<? super DataBuffer> actual) {
			if (this.body.cut) {
				Operators.complete(actual);
				return;
			}
			OutboundCall call = this.body.call;
			HangupException stopped = call.subscriber().stoppedWith();
			if (stopped != null) {
				Operators.error(actual, stopped);
				return;
			}
			call.timeout().body(this.source).subscribe(new Reader(actual, this.body));
		}

	}

	private static final class Reader implements CoreSubscriber<DataBuffer>, Subscription {

		private static final AtomicReferenceFieldUpdater<Reader, @Nullable Subscription> UPSTREAM = AtomicReferenceFieldUpdater
			.newUpdater(Reader.class, Subscription.class, "upstream");

		private static final AtomicIntegerFieldUpdater<Reader> DONE = AtomicIntegerFieldUpdater.newUpdater(Reader.class,
				"done");

		private static final AtomicLongFieldUpdater<Reader> REQUESTED = AtomicLongFieldUpdater.newUpdater(Reader.class,
				"requested");

		private final CoreSubscriber<? super DataBuffer> actual;

		private final TrackedBody body;

		private final OutboundCall call;

		private volatile @Nullable Subscription upstream;

		/**
		 * 1 once the reader got its terminal signal, from the source, the timeout or a
		 * stop.
		 */
		private volatile int done;

		/**
		 * Demand not yet served: the response timeout only counts while there is some.
		 */
		private volatile long requested;

		Reader(CoreSubscriber<? super DataBuffer> actual, TrackedBody body) {
			this.actual = actual;
			this.body = body;
			this.call = body.call;
		}

		@Override
		public Context currentContext() {
			return this.actual.currentContext();
		}

		@Override
		public void onSubscribe(Subscription subscription) {
			if (Operators.setOnce(UPSTREAM, this, subscription)) {
				this.body.reader = this;
				this.actual.onSubscribe(this);
				HangupException stopped = this.call.subscriber().stoppedWith();
				if (stopped != null) {
					// Stopped before this reader was there for the stop to find.
					Operators.terminate(UPSTREAM, this);
					end(() -> stopped);
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
			this.call.timeout().read();
			this.actual.onNext(buffer);
		}

		@Override
		public void onError(Throwable error) {
			// After the timeout or a stop, the error of the connection they closed is no
			// news.
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

		/**
		 * End the body for its reader from outside the source, once; like a cancel, it
		 * leaves nothing for WebClient to release.
		 */
		void end(Supplier<Throwable> error) {
			if (DONE.compareAndSet(this, 0, 1)) {
				this.body.cut = true;
				Operators.terminate(UPSTREAM, this);
				this.actual.onError(error.get());
			}
		}

		@Override
		public void request(long n) {
			if (Operators.validate(n) && Operators.addCap(REQUESTED, this, n) == 0) {
				// Waiting for the upstream starts again now, not when the reader last
				// paused.
				this.call.timeout().read();
			}
			Subscription subscription = this.upstream;
			if (subscription != null) {
				subscription.request(n);
			}
		}

		@Override
		public void cancel() {
			this.body.cut = true;
			this.call.cancelled();
			Operators.terminate(UPSTREAM, this);
		}

	}

}
