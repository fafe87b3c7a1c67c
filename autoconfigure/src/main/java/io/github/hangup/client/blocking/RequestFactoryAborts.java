package io.github.hangup.client.blocking;

import java.io.IOException;
import java.util.concurrent.CancellationException;

import org.apache.hc.client5.http.classic.ExecChain;
import org.apache.hc.client5.http.classic.ExecChainHandler;
import org.apache.hc.client5.http.impl.ChainElement;
import org.apache.hc.core5.concurrent.CancellableDependency;
import org.apache.hc.core5.http.ClassicHttpRequest;
import org.apache.hc.core5.http.ClassicHttpResponse;
import org.apache.hc.core5.http.EndpointDetails;
import org.apache.hc.core5.http.HttpException;
import org.eclipse.jetty.client.Request;

import org.springframework.boot.http.client.ClientHttpRequestFactoryBuilder;
import org.springframework.boot.http.client.HttpComponentsClientHttpRequestFactoryBuilder;
import org.springframework.boot.http.client.JettyClientHttpRequestFactoryBuilder;

/**
 * Gives the clients of the request factories Boot builds for {@code RestClient} and
 * {@code RestTemplate} the hooks through which a call that Hangup stops (its client left,
 * the server shuts down) aborts its exchange, before its response and while its body is
 * read: the connection is closed at once, the upstream sees it, and the thread waiting on
 * the call is released.
 * <ul>
 * <li>Apache HttpClient 5: the request is cancelled, which closes its connection (an
 * execution interceptor, first of the client's); a second one, after the client's retry,
 * counts the client's own retries of stale connections on
 * {@code http.client.retries};</li>
 * <li>Jetty: the request is aborted (a listener of the client's queued requests);</li>
 * <li>the JDK {@code HttpClient} needs none: its factory aborts an exchange whose thread
 * is interrupted, and its body can be closed under its reader;</li>
 * <li>Reactor Netty gets none: its factory gives up the exchange and closes its
 * connection when its waiting thread is interrupted, before the response; its body cannot
 * be aborted from another thread.</li>
 * </ul>
 * A builder of another type, such as one an earlier customizer wrapped, is left as it is:
 * its calls are only interrupted. Each hook finds the call through the thread that sends
 * it, so that it costs nothing to a request that Hangup's interceptor does not send.
 *
 * @since 0.4.0
 */
public final class RequestFactoryAborts {

	private static final String BOOT = "org.springframework.boot.http.client.";

	private RequestFactoryAborts() {
	}

	/**
	 * Return the builder with the abort hook of its client, when Hangup knows its type.
	 * @param builder a builder of request factories
	 * @return the builder with the hook, or the given builder
	 */
	public static ClientHttpRequestFactoryBuilder<?> apply(ClientHttpRequestFactoryBuilder<?> builder) {
		// By name: a builder of a client that is not on the class path is never loaded.
		return switch (builder.getClass().getName()) {
			case BOOT + "HttpComponentsClientHttpRequestFactoryBuilder" -> HttpComponents.apply(builder);
			case BOOT + "JettyClientHttpRequestFactoryBuilder" -> Jetty.apply(builder);
			default -> builder;
		};
	}

	private static CancellationException stopped() {
		return new CancellationException("Call stopped: its client left or the server shuts down");
	}

	/**
	 * Apache HttpClient 5: the request is the exchange's cancellable, down to its
	 * connection.
	 */
	private static final class HttpComponents {

		private static final String NAME = "hangup-abort";

		private static final String ATTEMPTS = "hangup-attempts";

		static ClientHttpRequestFactoryBuilder<?> apply(ClientHttpRequestFactoryBuilder<?> builder) {
			ExecChainHandler handler = HttpComponents::execute;
			ExecChainHandler attempts = HttpComponents::attempt;
			// Each attempt of the client's own retry passes the element after RETRY (it
			// is not there when the application turned retries off).
			return ((HttpComponentsClientHttpRequestFactoryBuilder) builder)
				.withHttpClientCustomizer((client) -> client.addExecInterceptorFirst(NAME, handler)
					.addExecInterceptorAfter(ChainElement.RETRY.name(), ATTEMPTS, attempts));
		}

		/**
		 * One attempt of the call: the client sends a request again, on a new connection,
		 * after an attempt failed with an I/O error before its response, when its retry
		 * strategy allows (its default: an idempotent method, a body that can be sent
		 * again, once). An attempt after one that failed on a reused connection is a
		 * retry of a stale connection, counted as Hangup counts its own.
		 */
		private static ClassicHttpResponse attempt(ClassicHttpRequest request, ExecChain.Scope scope, ExecChain chain)
				throws IOException, HttpException {
			BlockingCall call = BlockingCall.sending();
			if (call == null) {
				return chain.proceed(request, scope);
			}
			call.attemptStarting();
			try {
				return chain.proceed(request, scope);
			}
			catch (IOException ex) {
				EndpointDetails connection = scope.clientContext.getEndpointDetails();
				// A response on it before this attempt: it was reused from the pool.
				boolean reused = connection != null && connection.getResponseCount() > 0;
				call.attemptFailed(ex, reused ? (int) connection.getResponseCount() : 0);
				throw ex;
			}
		}

		private static ClassicHttpResponse execute(ClassicHttpRequest request, ExecChain.Scope scope, ExecChain chain)
				throws IOException, HttpException {
			BlockingCall call = BlockingCall.sending();
			if (call != null) {
				// Spring's requests are cancellable: a cancel gives up the connection's
				// lease, or closes the connection once leased, also while the response
				// body is read.
				call.abortWith((scope.originalRequest instanceof CancellableDependency cancellable)
						? cancellable::cancel : scope.execRuntime::discardEndpoint);
			}
			return chain.proceed(request, scope);
		}

	}

	/** Jetty: the request aborts its exchange in any state. */
	private static final class Jetty {

		static ClientHttpRequestFactoryBuilder<?> apply(ClientHttpRequestFactoryBuilder<?> builder) {
			return ((JettyClientHttpRequestFactoryBuilder) builder)
				.withHttpClientCustomizer((client) -> client.getRequestListeners().addQueuedListener(Jetty::queued));
		}

		/** Called on the thread that sends the request. */
		private static void queued(Request request) {
			BlockingCall call = BlockingCall.sending();
			if (call != null) {
				call.abortWith(() -> request.abort(stopped()));
			}
		}

	}

}
