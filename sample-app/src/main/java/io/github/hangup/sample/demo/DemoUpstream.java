package io.github.hangup.sample.demo;

import java.net.URI;
import java.time.Duration;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;
import reactor.netty.DisposableServer;
import reactor.netty.http.server.HttpServer;

import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.SmartLifecycle;

/**
 * Embedded upstream, on a free loopback port, whose endpoints misbehave on purpose: slow
 * answers, endless streams, hang-ups and connection resets. Started when no upstream is
 * configured, so that the proxy has something to fail against.
 *
 * @since 0.1.0
 */
public final class DemoUpstream implements SmartLifecycle {

	private static final Log logger = LogFactory.getLog(DemoUpstream.class);

	private static final Duration SHUTDOWN_TIMEOUT = Duration.ofSeconds(5);

	private volatile @Nullable DisposableServer server;

	DemoUpstream() {
	}

	@Override
	public void start() {
		DisposableServer server = HttpServer.create().host("127.0.0.1").port(0).handle(new DemoEndpoints()).bindNow();
		this.server = server;
		logger.info("Demo upstream listening on http://127.0.0.1:" + server.port());
	}

	@Override
	public void stop() {
		DisposableServer server = this.server;
		if (server != null) {
			this.server = null;
			server.disposeNow(SHUTDOWN_TIMEOUT);
		}
	}

	@Override
	public boolean isRunning() {
		return this.server != null;
	}

	// Up before the proxy's web server and down after it: no request is ever forwarded to
	// a demo upstream that is not listening.
	@Override
	public int getPhase() {
		return WebServerApplicationContext.START_STOP_LIFECYCLE_PHASE - 1;
	}

	/**
	 * Returns the port the demo upstream listens on.
	 * @return the port
	 * @throws IllegalStateException if the demo upstream is not running
	 */
	public int getPort() {
		DisposableServer server = this.server;
		if (server == null) {
			throw new IllegalStateException("Demo upstream is not running");
		}
		return server.port();
	}

	/**
	 * Returns the URI of the demo upstream, for use as a default upstream.
	 * @return the URI, such as {@code http://127.0.0.1:40123}
	 * @throws IllegalStateException if the demo upstream is not running
	 */
	public URI getUri() {
		return URI.create("http://127.0.0.1:" + getPort());
	}

}
