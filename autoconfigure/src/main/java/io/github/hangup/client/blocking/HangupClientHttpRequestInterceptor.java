package io.github.hangup.client.blocking;

import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

import io.github.hangup.HangupClassifier;
import io.github.hangup.HangupException;
import io.github.hangup.HangupObservations;
import io.github.hangup.HangupRecorder;
import io.github.hangup.client.HangupClientAttributes;
import io.github.hangup.client.OutboundCalls;
import io.github.hangup.client.PropagationMode;
import io.github.hangup.server.InboundScope;
import org.jspecify.annotations.Nullable;

import org.springframework.http.HttpRequest;
import org.springframework.http.client.ClientHttpRequest;
import org.springframework.http.client.ClientHttpRequestExecution;
import org.springframework.http.client.ClientHttpRequestFactory;
import org.springframework.http.client.ClientHttpRequestInitializer;
import org.springframework.http.client.ClientHttpRequestInterceptor;
import org.springframework.http.client.ClientHttpResponse;

/**
 * Makes each call of a {@code RestClient} or {@code RestTemplate} an outbound call as
 * Hangup's {@code WebClient} filter does: it joins the scope of the inbound request
 * served on the calling thread, its failures are classified into the same kinds and
 * counted once on {@code http.client.hangups}, before the response and while its body is
 * read.
 * <p>
 * Auto-configuration applies it by {@linkplain #wrap(ClientHttpRequestFactory) wrapping}
 * the request factories Boot builds for its {@code RestClient.Builder} and
 * {@code RestTemplateBuilder}, closest to the client library, and registers it on them as
 * a {@link ClientHttpRequestInitializer}, through which Boot's client observations learn
 * of the call. It is not installed as an interceptor: Spring buffers the whole body of a
 * request that has any interceptor, which would hold a streamed upload in memory and keep
 * it from the upstream until its end. Add it as an interceptor only to a client whose
 * request factory is not built by Boot, and whose request bodies may be buffered.
 * <p>
 * A hang-up before the response is thrown as a {@link HangupResourceAccessException}, the
 * {@code ResourceAccessException} the clients throw for any failed call, with the typed
 * {@link HangupException} as its cause; one while the body is read as an
 * {@code IOException} with the hang-up as its cause, which the clients wrap as they wrap
 * any failure of a body.
 *
 * @since 0.3.0
 */
public final class HangupClientHttpRequestInterceptor
		implements ClientHttpRequestInterceptor, ClientHttpRequestInitializer {

	private final HangupClassifier classifier;

	private final HangupRecorder recorder;

	private final PropagationMode propagation;

	private final OutboundCalls calls;

	private final long readTimeoutNanos;

	/**
	 * Create an interceptor.
	 * @param classifier decides which failures are hang-ups
	 * @param recorder receives the hang-ups
	 * @param propagation how far a client leaving reaches
	 * @param calls counts the calls in flight, with every other integration's
	 */
	public HangupClientHttpRequestInterceptor(HangupClassifier classifier, HangupRecorder recorder,
			PropagationMode propagation, OutboundCalls calls) {
		this(classifier, recorder, propagation, calls, Duration.ZERO);
	}

	/**
	 * Create an interceptor that knows the read timeout of the request factories it
	 * serves.
	 * @param classifier decides which failures are hang-ups
	 * @param recorder receives the hang-ups
	 * @param propagation how far a client leaving reaches
	 * @param calls counts the calls in flight, with every other integration's
	 * @param readTimeout the factories' read timeout, {@link Duration#ZERO} if none or
	 * unknown: the JDK client's body fails alike whether its read timeout closed it or
	 * its connection failed, and only the time the body was silent tells the two apart
	 * @since 0.4.0
	 */
	public HangupClientHttpRequestInterceptor(HangupClassifier classifier, HangupRecorder recorder,
			PropagationMode propagation, OutboundCalls calls, Duration readTimeout) {
		this.classifier = classifier;
		this.recorder = recorder;
		this.propagation = propagation;
		this.calls = calls;
		this.readTimeoutNanos = readTimeout.toNanos();
	}

	/**
	 * Wrap a request factory so that each request it creates is an outbound call, without
	 * buffering its body.
	 * @param factory the factory to wrap
	 * @return a factory whose requests are Hangup's outbound calls
	 * @since 0.5.0
	 */
	public ClientHttpRequestFactory wrap(ClientHttpRequestFactory factory) {
		return wrap(factory, null);
	}

	/**
	 * Wrap a request factory so that each request it creates is an outbound call, without
	 * buffering its body, and one whose response head does not arrive in time is aborted
	 * as an {@code UPSTREAM_TIMEOUT}: a limit on the wait for the head alone, for a
	 * factory that has no read timeout, so that a long body or a quiet event stream is
	 * not cut.
	 * @param factory the factory to wrap
	 * @param headTimeout how long a call may wait for its response head, {@code null} for
	 * no limit of Hangup's (the factory's own timeouts apply either way)
	 * @return a factory whose requests are Hangup's outbound calls
	 * @since 0.5.0
	 */
	public ClientHttpRequestFactory wrap(ClientHttpRequestFactory factory, @Nullable Duration headTimeout) {
		if (factory instanceof WatchedRequestFactory) {
			return factory;
		}
		return new WatchedRequestFactory(factory, this,
				(headTimeout != null && !headTimeout.isZero()) ? headTimeout.toNanos() : 0);
	}

	/** Times the wait for response heads: one daemon thread for all interceptors. */
	private static final class HeadTimer {

		static final ScheduledThreadPoolExecutor TIMER = timer();

		private static ScheduledThreadPoolExecutor timer() {
			ScheduledThreadPoolExecutor timer = new ScheduledThreadPoolExecutor(1, (task) -> {
				Thread thread = new Thread(task, "hangup-response-head-timer");
				thread.setDaemon(true);
				return thread;
			});
			// Nearly every call cancels its timer: do not keep them until they were due.
			timer.setRemoveOnCancelPolicy(true);
			return timer;
		}

	}

	/**
	 * Give the request a place where its call is found by the client's observation, which
	 * observes this request while the call may be made by another one (that of the
	 * request factory, when the client has interceptors).
	 */
	@Override
	public void initialize(ClientHttpRequest request) {
		CallHolder.of(request);
	}

	@Override
	public ClientHttpResponse intercept(HttpRequest request, byte[] body, ClientHttpRequestExecution execution)
			throws IOException {
		return exchange(request, () -> execution.execute(request, body), 0);
	}

	/**
	 * Make the request's exchange an outbound call.
	 * @param headTimeoutNanos how long the call may wait for its response head before
	 * Hangup aborts it as an {@code UPSTREAM_TIMEOUT}; {@code 0} for no limit of Hangup's
	 */
	ClientHttpResponse exchange(HttpRequest request, Exchange exchange, long headTimeoutNanos) throws IOException {
		BlockingCall call = new BlockingCall(this.classifier, this.recorder,
				HangupObservations.method(request.getMethod().name()), upstream(request), scope(request),
				this.propagation == PropagationMode.REQUEST, this.calls);
		// For the hangup key of the call's observation, and the body's writer.
		CallHolder.of(request).call = call;
		HangupException early = call.begin();
		if (early != null) {
			throw new HangupResourceAccessException(request, early);
		}
		ClientHttpResponse response;
		try {
			if (call.awaiting() != null) {
				// Its client left before the call was sent: it is not sent, and fails as
				// stopped.
				throw new IOException("Call stopped before it was sent");
			}
			ScheduledFuture<?> headTimer = (headTimeoutNanos > 0)
					? HeadTimer.TIMER.schedule(call::headTimedOut, headTimeoutNanos, TimeUnit.NANOSECONDS) : null;
			try {
				response = exchange.execute();
			}
			finally {
				if (headTimer != null) {
					headTimer.cancel(false);
				}
			}
		}
		catch (IOException | RuntimeException ex) {
			if (call.fail(ex) instanceof HangupException hangup) {
				throw new HangupResourceAccessException(request, hangup);
			}
			throw ex;
		}
		finally {
			call.awaited();
		}
		HangupException stopped = call.responded(TrackedClientHttpResponse.closeableBody(response));
		if (stopped != null) {
			// Its client left while it waited: the answer has nobody to go to.
			TrackedClientHttpResponse.abort(response, call);
			call.finish();
			throw new HangupResourceAccessException(request, stopped);
		}
		return new TrackedClientHttpResponse(response, call, this.readTimeoutNanos);
	}

	private @Nullable InboundScope scope(HttpRequest request) {
		if (this.propagation == PropagationMode.OFF
				|| Boolean.TRUE.equals(request.getAttributes().get(HangupClientAttributes.DETACHED))) {
			return null;
		}
		return InboundScope.current();
	}

	private static String upstream(HttpRequest request) {
		Object name = request.getAttributes().get(HangupClientAttributes.CLIENT_NAME);
		if (name instanceof String text && !text.isEmpty()) {
			return text;
		}
		URI url = request.getURI();
		String host = (url.getHost() != null) ? url.getHost() : "unknown";
		int port = url.getPort();
		if (port == -1) {
			port = "https".equalsIgnoreCase(url.getScheme()) ? 443 : 80;
		}
		return host + ":" + port;
	}

	/** What sends the request and returns its response. */
	@FunctionalInterface
	interface Exchange {

		ClientHttpResponse execute() throws IOException;

	}

	/**
	 * Holds the call of a request, under {@link #ATTRIBUTE}: the map of attributes is
	 * copied from the request a client observes to the one its request factory creates.
	 */
	static final class CallHolder {

		static final String ATTRIBUTE = CallHolder.class.getName();

		volatile @Nullable BlockingCall call;

		/** The request's holder, put in place if the request has none. */
		static CallHolder of(HttpRequest request) {
			return (CallHolder) request.getAttributes().computeIfAbsent(ATTRIBUTE, (key) -> new CallHolder());
		}

		/** The call of a request, if it was made. */
		static @Nullable BlockingCall callOf(HttpRequest request) {
			return (request.getAttributes().get(ATTRIBUTE) instanceof CallHolder holder) ? holder.call : null;
		}

	}

}
