package io.github.hangup;

import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.UnknownHostException;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.channels.ClosedChannelException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeoutException;

import io.github.hangup.support.FaultyUpstream;
import io.github.hangup.support.FullBacklog;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.ConnectTimeoutException;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.timeout.ReadTimeoutException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import reactor.core.Disposable;
import reactor.core.publisher.Mono;
import reactor.netty.Connection;
import reactor.netty.DisposableServer;
import reactor.netty.channel.AbortedException;
import reactor.netty.http.client.HttpClient;
import reactor.netty.http.client.PrematureCloseException;
import reactor.netty.http.server.HttpServer;
import reactor.netty.resources.ConnectionProvider;
import reactor.netty.resources.LoopResources;
import reactor.netty.tcp.TcpClient;

import org.springframework.http.client.reactive.ReactorClientHttpConnector;
import org.springframework.web.reactive.function.client.WebClient;
import org.springframework.web.reactive.function.client.WebClientRequestException;
import org.springframework.web.reactive.function.client.WebClientResponseException;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

/**
 * Tests for {@link DefaultHangupClassifier}, over exceptions produced by real Reactor
 * Netty, Netty, Spring WebClient and JDK code against real sockets on loopback. Each test
 * first checks that it produced the exception it is about, so that a change in a library
 * shows up as such instead of as a wrong classification.
 */
class DefaultHangupClassifierTests {

	private static final Duration DEADLINE = Duration.ofSeconds(10);

	private static FaultyUpstream upstream;

	private static int refusedPort;

	private static LoopResources nioLoops;

	private static DisposableServer failingServer;

	private final DefaultHangupClassifier classifier = new DefaultHangupClassifier();

	/** Default transport: native epoll on Linux. No pool, so that every call connects. */
	private final HttpClient client = HttpClient.newConnection();

	private final HttpClient nioClient = HttpClient.newConnection().runOn(nioLoops, false);

	@BeforeAll
	static void start() throws IOException {
		upstream = new FaultyUpstream();
		refusedPort = FaultyUpstream.refusedPort();
		nioLoops = LoopResources.create("hangup-test-nio", 1, false);
		failingServer = HttpServer.create()
			.host("127.0.0.1")
			.port(0)
			.handle((request, response) -> response.status(500).send())
			.bindNow(DEADLINE);
	}

	@AfterAll
	static void stop() throws IOException {
		failingServer.disposeNow(DEADLINE);
		nioLoops.disposeLater().block(DEADLINE);
		upstream.close();
	}

	// Connect-level failures: unreachable, whichever side sees them.

	@Test
	@EnabledOnOs(OS.LINUX)
	void connectionRefusedOnTheNativeTransportIsUnreachable() {
		Throwable error = errorOf(this.client, EpollSocketChannel.class, refusedUrl());
		assertThat(error).isInstanceOf(ConnectException.class).hasMessageContaining("Connection refused");
		assertClassifiedOnBothSides(error, HangupKind.UPSTREAM_UNREACHABLE);
	}

	@Test
	void connectionRefusedOnTheNioTransportIsUnreachable() {
		Throwable error = errorOf(this.nioClient, NioSocketChannel.class, refusedUrl());
		assertThat(error).isInstanceOf(ConnectException.class).hasRootCauseInstanceOf(ConnectException.class);
		assertClassifiedOnBothSides(error, HangupKind.UPSTREAM_UNREACHABLE);
	}

	@Test
	void nettyConnectTimeoutIsUnreachable() throws IOException {
		// A non-routable address (10.255.255.1) does not time out here: the sandbox
		// answers every outbound connection. A full accept queue drops the SYN for real
		// instead.
		try (FullBacklog backlog = new FullBacklog()) {
			Throwable error = errorOf(this.client.option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 50)
				.get()
				.uri("http://127.0.0.1:" + backlog.port() + "/")
				.response());
			assertThat(error).isInstanceOf(ConnectTimeoutException.class);
			assertClassifiedOnBothSides(error, HangupKind.UPSTREAM_UNREACHABLE);
		}
	}

	@Test
	void blockingSocketConnectTimeoutIsUnreachable() throws IOException {
		try (FullBacklog backlog = new FullBacklog(); Socket socket = new Socket()) {
			Throwable error = catchThrowable(
					() -> socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), backlog.port()), 100));
			assertThat(error).isInstanceOf(SocketTimeoutException.class);
			assertClassifiedOnBothSides(error, HangupKind.UPSTREAM_UNREACHABLE);
		}
	}

	@Test
	@EnabledOnOs(OS.LINUX)
	void localAddressInUseOnTheNativeTransportIsUnreachable() throws IOException {
		try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
			Throwable error = errorOf(
					this.client.bindAddress(
							() -> new InetSocketAddress(InetAddress.getLoopbackAddress(), taken.getLocalPort())),
					EpollSocketChannel.class, refusedUrl());
			// Reactor Netty's ChannelBindException, or the native bind(..) error itself.
			assertThat(error).hasStackTraceContaining("bind");
			assertClassifiedOnBothSides(error, HangupKind.UPSTREAM_UNREACHABLE);
		}
	}

	@Test
	void localAddressInUseOnTheNioTransportIsUnreachable() throws IOException {
		try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
			Throwable error = errorOf(
					this.nioClient.bindAddress(
							() -> new InetSocketAddress(InetAddress.getLoopbackAddress(), taken.getLocalPort())),
					NioSocketChannel.class, refusedUrl());
			assertThat(error).hasRootCauseInstanceOf(java.net.BindException.class);
			assertClassifiedOnBothSides(error, HangupKind.UPSTREAM_UNREACHABLE);
		}
	}

	@Test
	void unknownHostIsUnreachable() {
		Throwable error = errorOf(this.client.get().uri("http://hangup-test.invalid/").response());
		assertThat(error).isInstanceOf(UnknownHostException.class);
		assertClassifiedOnBothSides(error, HangupKind.UPSTREAM_UNREACHABLE);
	}

	@Test
	void jdkHttpClientConnectTimeoutIsUnreachable() throws IOException {
		java.net.http.HttpClient jdk = java.net.http.HttpClient.newBuilder()
			.connectTimeout(Duration.ofMillis(200))
			.build();
		try (FullBacklog backlog = new FullBacklog()) {
			HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + backlog.port() + "/"))
				.timeout(Duration.ofSeconds(5))
				.build();
			Throwable error = catchThrowable(() -> jdk.send(request, HttpResponse.BodyHandlers.discarding()));
			assertThat(error).isInstanceOf(HttpConnectTimeoutException.class);
			assertClassifiedOnBothSides(error, HangupKind.UPSTREAM_UNREACHABLE);
		}
	}

	// Timeouts.

	@Test
	void reactorNettyResponseTimeoutIsUpstreamTimeout() {
		Throwable error = errorOf(
				this.client.responseTimeout(Duration.ofMillis(100)).get().uri(upstream.baseUrl() + "/hang").response());
		assertThat(error).isInstanceOf(ReadTimeoutException.class);
		assertClassifiedOnBothSides(error, HangupKind.UPSTREAM_TIMEOUT);
	}

	@Test
	void reactorTimeoutOperatorIsUpstreamTimeout() {
		Throwable error = errorOf(Mono.never().timeout(Duration.ofMillis(50)));
		assertThat(error).isInstanceOf(TimeoutException.class);
		assertClassifiedOnBothSides(error, HangupKind.UPSTREAM_TIMEOUT);
	}

	@Test
	void connectionPoolAcquireTimeoutIsUpstreamOverflow() {
		ConnectionProvider provider = ConnectionProvider.builder("hangup-test-pool")
			.maxConnections(1)
			.pendingAcquireTimeout(Duration.ofMillis(100))
			.build();
		HttpClient pooled = HttpClient.create(provider);
		int received = upstream.received("/hang");
		Disposable holder = pooled.get().uri(upstream.baseUrl() + "/hang").response().subscribe();
		try {
			upstream.awaitReceived("/hang", received + 1);
			Throwable error = errorOf(pooled.get().uri(upstream.baseUrl() + "/hang").response());
			assertThat(error.getClass().getName()).endsWith(".PoolAcquireTimeoutException");
			assertClassifiedOnBothSides(error, HangupKind.UPSTREAM_OVERFLOW);
		}
		finally {
			holder.dispose();
			provider.disposeLater().block(DEADLINE);
		}
	}

	@Test
	void jdkHttpClientRequestTimeoutIsUpstreamTimeout() throws IOException {
		java.net.http.HttpClient jdk = java.net.http.HttpClient.newHttpClient();
		try (ServerSocket silent = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
			HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + silent.getLocalPort() + "/"))
				.timeout(Duration.ofMillis(200))
				.build();
			Throwable error = catchThrowable(() -> jdk.send(request, HttpResponse.BodyHandlers.discarding()));
			assertThat(error).isInstanceOf(HttpTimeoutException.class)
				.isNotInstanceOf(HttpConnectTimeoutException.class);
			assertClassifiedOnBothSides(error, HangupKind.UPSTREAM_TIMEOUT);
		}
	}

	@Test
	void blockingSocketReadTimeoutIsUpstreamTimeout() throws IOException {
		try (ServerSocket silent = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
				Socket socket = new Socket(InetAddress.getLoopbackAddress(), silent.getLocalPort())) {
			socket.setSoTimeout(100);
			InputStream in = socket.getInputStream();
			Throwable error = catchThrowable(in::read);
			assertThat(error).isInstanceOf(SocketTimeoutException.class);
			assertClassifiedOnBothSides(error, HangupKind.UPSTREAM_TIMEOUT);
		}
	}

	// Lost connections.

	@Test
	void upstreamClosingWithoutAnswerIsUpstreamReset() {
		Throwable error = errorOf(this.client.get().uri(upstream.baseUrl() + "/close").response());
		assertThat(error).isInstanceOf(PrematureCloseException.class);
		// Only an HTTP client throws it: an upstream reset on either side.
		assertClassifiedOnBothSides(error, HangupKind.UPSTREAM_RESET);
	}

	@Test
	@EnabledOnOs(OS.LINUX)
	void connectionResetOnTheNativeTransportDependsOnTheSide() {
		Throwable error = errorOf(this.client, EpollSocketChannel.class, upstream.baseUrl() + "/reset");
		assertThat(error.getClass().getName()).isEqualTo("io.netty.channel.unix.Errors$NativeIoException");
		assertThat(error).hasMessageContaining("Connection reset by peer");
		assertClassified(error, HangupKind.UPSTREAM_RESET, HangupKind.CLIENT_CANCEL);
	}

	@Test
	void connectionResetOnTheNioTransportDependsOnTheSide() {
		Throwable error = errorOf(this.nioClient, NioSocketChannel.class, upstream.baseUrl() + "/reset");
		assertThat(error).isInstanceOf(SocketException.class).hasMessageContaining("Connection reset");
		assertClassified(error, HangupKind.UPSTREAM_RESET, HangupKind.CLIENT_CANCEL);
	}

	@Test
	void reactorNettySendOnAClosedConnectionDependsOnTheSide() {
		Connection connection = TcpClient.create().host("127.0.0.1").port(upstream.port()).connectNow(DEADLINE);
		connection.channel().close().syncUninterruptibly();
		Throwable error = errorOf(connection.outbound().sendString(Mono.just("late")).then());
		assertThat(error).isInstanceOf(AbortedException.class);
		assertClassified(error, HangupKind.UPSTREAM_RESET, HangupKind.CLIENT_CANCEL);
	}

	@Test
	void nettyWriteOnAClosedChannelDependsOnTheSide() {
		Connection connection = TcpClient.create().host("127.0.0.1").port(upstream.port()).connectNow(DEADLINE);
		Channel channel = connection.channel();
		channel.close().syncUninterruptibly();
		Throwable error = channel.writeAndFlush(Unpooled.EMPTY_BUFFER).awaitUninterruptibly().cause();
		assertThat(error).isInstanceOf(ClosedChannelException.class);
		assertClassified(error, HangupKind.UPSTREAM_RESET, HangupKind.CLIENT_CANCEL);
	}

	@ParameterizedTest
	@ValueSource(strings = { "Connection reset by peer", "Broken pipe", "Connection prematurely closed BEFORE response",
			"Connection closed",
			"Error while acquiring from reactor.netty.internal.shaded.reactor.pool.SimpleDequePool@1d64190f" })
	void ioExceptionKnownOnlyByItsMessageDependsOnTheSide(String message) {
		assertClassified(new IOException(message), HangupKind.UPSTREAM_RESET, HangupKind.CLIENT_CANCEL);
	}

	// Errors wrapped by Spring's WebClient happened on an outbound call.

	@Test
	void connectionRefusedWrappedByWebClientIsUnreachable() {
		Throwable error = errorOf(WebClient.create().get().uri(refusedUrl()).retrieve().toBodilessEntity());
		assertThat(error).isInstanceOf(WebClientRequestException.class).hasCauseInstanceOf(ConnectException.class);
		assertClassifiedOnBothSides(error, HangupKind.UPSTREAM_UNREACHABLE);
	}

	@Test
	void unknownHostWrappedByWebClientIsUnreachable() {
		Throwable error = errorOf(
				WebClient.create().get().uri("http://hangup-test.invalid/").retrieve().toBodilessEntity());
		assertThat(error).isInstanceOf(WebClientRequestException.class).hasCauseInstanceOf(UnknownHostException.class);
		assertClassifiedOnBothSides(error, HangupKind.UPSTREAM_UNREACHABLE);
	}

	@Test
	void responseTimeoutWrappedByWebClientIsUpstreamTimeout() {
		WebClient webClient = WebClient.builder()
			.clientConnector(new ReactorClientHttpConnector(this.client.responseTimeout(Duration.ofMillis(100))))
			.build();
		Throwable error = errorOf(webClient.get().uri(upstream.baseUrl() + "/hang").retrieve().toBodilessEntity());
		assertThat(error).isInstanceOf(WebClientRequestException.class).hasCauseInstanceOf(ReadTimeoutException.class);
		assertClassifiedOnBothSides(error, HangupKind.UPSTREAM_TIMEOUT);
	}

	@Test
	void upstreamClosingWithoutAnswerWrappedByWebClientIsUpstreamReset() {
		Throwable error = errorOf(
				WebClient.create().get().uri(upstream.baseUrl() + "/close").retrieve().toBodilessEntity());
		assertThat(error).isInstanceOf(WebClientRequestException.class)
			.hasCauseInstanceOf(PrematureCloseException.class);
		assertClassifiedOnBothSides(error, HangupKind.UPSTREAM_RESET);
	}

	@Test
	void connectionResetWrappedByWebClientIsUpstreamResetEvenOnTheInboundSide() {
		Throwable error = errorOf(
				WebClient.create().get().uri(upstream.baseUrl() + "/reset").retrieve().toBodilessEntity());
		assertThat(error).isInstanceOf(WebClientRequestException.class).hasCauseInstanceOf(IOException.class);
		assertThat(error.getCause()).hasMessageContaining("Connection reset");
		assertClassifiedOnBothSides(error, HangupKind.UPSTREAM_RESET);
	}

	@Test
	void connectionResetOnNioWrappedByWebClientIsUpstreamResetEvenOnTheInboundSide() {
		WebClient webClient = WebClient.builder()
			.clientConnector(new ReactorClientHttpConnector(this.nioClient))
			.build();
		Throwable error = errorOf(webClient.get().uri(upstream.baseUrl() + "/reset").retrieve().toBodilessEntity());
		assertThat(error).isInstanceOf(WebClientRequestException.class).hasCauseInstanceOf(SocketException.class);
		assertClassifiedOnBothSides(error, HangupKind.UPSTREAM_RESET);
	}

	// Hang-ups already classified by Hangup.

	@Test
	void wrappedUpstreamHangupExceptionKeepsItsKind() {
		UpstreamHangupException hangup = UpstreamHangupException.of(HangupKind.UPSTREAM_TIMEOUT,
				HangupPhase.DURING_RESPONSE, "GET", "example.org:80", null);
		assertClassifiedOnBothSides(new RuntimeException("wrapped", hangup), HangupKind.UPSTREAM_TIMEOUT);
	}

	@Test
	void upstreamHangupExceptionKindWinsOverItsCause() {
		UpstreamHangupException hangup = UpstreamHangupException.of(HangupKind.UPSTREAM_RESET,
				HangupPhase.BEFORE_RESPONSE, "GET", "example.org:80", new ConnectException("Connection refused"));
		assertClassifiedOnBothSides(new IllegalStateException(hangup), HangupKind.UPSTREAM_RESET);
	}

	// Not hang-ups.

	@Test
	void illegalStateIsNotAHangup() {
		assertClassifiedOnBothSides(new IllegalStateException("No handler"), null);
	}

	@Test
	void errorStatusFromTheUpstreamIsNotAHangup() {
		Throwable error = errorOf(WebClient.create()
			.get()
			.uri("http://127.0.0.1:" + failingServer.port() + "/")
			.retrieve()
			.toBodilessEntity());
		assertThat(error).isInstanceOf(WebClientResponseException.class).hasNoCause();
		assertThat(((WebClientResponseException) error).getStatusCode().value()).isEqualTo(500);
		assertClassifiedOnBothSides(error, null);
	}

	@Test
	void ioExceptionWithAnUnrelatedMessageIsNotAHangup() {
		assertClassifiedOnBothSides(new IOException("disk full"), null);
	}

	/**
	 * An executor of the application's own that rejects a task is not a full pool of a
	 * client: only the Jetty client's message says so (see {@code MvcPoolOverflowTests}).
	 */
	@Test
	void rejectedTaskOfAnotherExecutorIsNotAHangup() {
		assertClassifiedOnBothSides(new RejectedExecutionException("Task rejected from executor"), null);
	}

	@Test
	void causeChainWithACycleIsWalkedToAnEnd() {
		IOException first = new IOException("first");
		IllegalStateException second = new IllegalStateException("second", first);
		first.initCause(second);
		HangupKind kind = assertTimeoutPreemptively(Duration.ofSeconds(5),
				() -> this.classifier.classify(second, HangupSide.OUTBOUND));
		assertThat(kind).isNull();
	}

	@Test
	void hangupInsideACauseCycleIsStillFound() {
		SocketTimeoutException timeout = new SocketTimeoutException("Read timed out");
		IllegalStateException wrapper = new IllegalStateException("wrapper", timeout);
		timeout.initCause(wrapper);
		HangupKind kind = assertTimeoutPreemptively(Duration.ofSeconds(5),
				() -> this.classifier.classify(wrapper, HangupSide.OUTBOUND));
		assertThat(kind).isEqualTo(HangupKind.UPSTREAM_TIMEOUT);
	}

	private void assertClassifiedOnBothSides(Throwable error, HangupKind kind) {
		assertClassified(error, kind, kind);
	}

	private void assertClassified(Throwable error, HangupKind outbound, HangupKind inbound) {
		assertThat(this.classifier.classify(error, HangupSide.OUTBOUND)).as("outbound kind of %s", error)
			.isEqualTo(outbound);
		assertThat(this.classifier.classify(error, HangupSide.INBOUND)).as("inbound kind of %s", error)
			.isEqualTo(inbound);
	}

	private static String refusedUrl() {
		return "http://127.0.0.1:" + refusedPort + "/";
	}

	/**
	 * Calls {@code url} and returns the error, checking that the connection ran on the
	 * expected transport.
	 */
	private static Throwable errorOf(HttpClient client, Class<? extends Channel> transport, String url) {
		List<Channel> channels = new CopyOnWriteArrayList<>();
		Throwable error = errorOf(client.doOnChannelInit((observer, channel, address) -> channels.add(channel))
			.get()
			.uri(url)
			.response());
		assertThat(channels).as("connections").isNotEmpty().allMatch(transport::isInstance);
		return error;
	}

	private static Throwable errorOf(Mono<?> call) {
		Throwable error = call.then(Mono.<Throwable>empty()).onErrorResume(Mono::just).block(DEADLINE);
		assertThat(error).as("error of the call").isNotNull();
		return error;
	}

}
