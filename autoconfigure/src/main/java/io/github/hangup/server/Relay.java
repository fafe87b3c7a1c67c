package io.github.hangup.server;

import org.jspecify.annotations.Nullable;
import org.reactivestreams.Subscription;
import reactor.core.CoreSubscriber;
import reactor.core.publisher.Operators;
import reactor.util.context.Context;

/**
 * A request's processing passed through unchanged, with a context of its own: the base of
 * the server side's one-object operators, which differ only in what they do on a cancel
 * or at the end.
 */
abstract class Relay implements CoreSubscriber<Void>, Subscription {

	final CoreSubscriber<? super Void> actual;

	private final Context context;

	private @Nullable Subscription upstream;

	Relay(CoreSubscriber<? super Void> actual, Context context) {
		this.actual = actual;
		this.context = context;
	}

	@Override
	public Context currentContext() {
		return this.context;
	}

	@Override
	public void onSubscribe(Subscription subscription) {
		if (Operators.validate(this.upstream, subscription)) {
			this.upstream = subscription;
			this.actual.onSubscribe(this);
		}
	}

	@Override
	public void onNext(Void value) {
		this.actual.onNext(value);
	}

	@Override
	public void onError(Throwable error) {
		this.actual.onError(error);
	}

	@Override
	public void onComplete() {
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
		Subscription subscription = this.upstream;
		if (subscription != null) {
			subscription.cancel();
		}
	}

}
