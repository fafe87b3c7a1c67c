package io.github.hangup.servlet;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import io.github.hangup.ClientCancelException;
import io.github.hangup.client.OutboundCalls;
import io.github.hangup.support.ClientLeaving;
import io.github.hangup.support.RawHttpClient;
import io.github.hangup.support.RawHttpClient.Head;
import io.github.hangup.support.ServletRelay;
import jakarta.servlet.http.HttpServletResponse;
import org.apache.catalina.connector.ClientAbortException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledForJreRange;
import org.junit.jupiter.api.condition.JRE;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.core.env.Environment;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.client.RestClient;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A client leaving a Spring MVC application on Tomcat whose requests run on virtual
 * threads ({@code spring.threads.virtual.enabled=true}, Java 21 and later): a synchronous
 * relay is found at its next write, a {@code Callable} waiting on its upstream by the
 * watch of its connection; either way the request is counted once, its call is stopped
 * (the upstream sees its connection closed) and the virtual thread that waited on it is
 * released.
 */
@EnabledForJreRange(min = JRE.JAVA_21)
@ExtendWith(OutputCaptureExtension.class)
class MvcVirtualThreadsTests {

	private static final Duration READ_TIMEOUT = Duration.ofSeconds(30);

	@RegisterExtension
	static final ServletRelay relay = ServletRelay.of(VirtualController.class, "spring.http.clients.read-timeout=30s",
			"spring.threads.virtual.enabled=true");

	@BeforeEach
	void clear() {
		VirtualController.released.clear();
	}

	@AfterEach
	void nothingLeftWaiting() {
		await().atMost(Duration.ofSeconds(10)).until(() -> relay.app().getBean(OutboundCalls.class).inFlight() == 0);
	}

	@Test
	void clientLeavingASynchronousRelayOnAVirtualThreadIsCountedOnceAndStopsTheCall(CapturedOutput output)
			throws Exception {
		int closedBefore = relay.upstream().peerClosed("/trickle");
		int answeredBefore = relay.upstream().answered("/trickle");
		try (RawHttpClient raw = new RawHttpClient(relay.port(), READ_TIMEOUT)) {
			Head head = raw.send("GET", "/relay/trickle").readHead();
			assertThat(head.status()).isEqualTo(200);
			raw.readBytes(1);
			raw.reset();
		}
		relay.upstream().awaitPeerClosed("/trickle", closedBefore + 1);
		assertThat(relay.upstream().answered("/trickle")).as("bodies the upstream finished").isEqualTo(answeredBefore);
		ClientLeaving.assertCounted(relay.registry(), "/relay/{path}", "DURING_RESPONSE", "DURING_RESPONSE",
				relay.upstream().port(), "CLIENT_CANCEL");
		// The relay's thread learns it from whichever finds the client gone first: its
		// own
		// write that failed, or the connection watch, which stops the call it reads from.
		assertReleasedFromAVirtualThread(ClientAbortException.class, ClientCancelException.class);
		assertThat(output).doesNotContain(" ERROR ").doesNotContain(" WARN ");
	}

	@Test
	void clientLeavingACallableOnAVirtualThreadWhileItWaitsIsCountedOnceAndStopsTheCall(CapturedOutput output)
			throws Exception {
		int receivedBefore = relay.upstream().received("/hang");
		int closedBefore = relay.upstream().peerClosed("/hang");
		try (RawHttpClient raw = new RawHttpClient(relay.port(), READ_TIMEOUT)) {
			raw.send("GET", "/callable/hang");
			relay.upstream().awaitReceived("/hang", receivedBefore + 1);
			raw.reset();
		}
		relay.upstream().awaitPeerClosed("/hang", closedBefore + 1);
		ClientLeaving.assertCounted(relay.registry(), "/callable/{path}", "BEFORE_RESPONSE", "BEFORE_RESPONSE",
				relay.upstream().port(), "CLIENT_CANCEL");
		assertReleasedFromAVirtualThread(ClientCancelException.class);
		assertThat(output).doesNotContain(" ERROR ").doesNotContain(" WARN ");
	}

	@SafeVarargs
	private static void assertReleasedFromAVirtualThread(Class<? extends Throwable>... why)
			throws InterruptedException {
		Released released = VirtualController.released.poll(10, TimeUnit.SECONDS);
		assertThat(released).isNotNull();
		assertThat(released.virtual()).as("ran on a virtual thread").isTrue();
		assertThat(ClientLeaving.causes(released.error())).as("what the thread got")
			.anyMatch((cause) -> java.util.Arrays.stream(why).anyMatch((type) -> type.isInstance(cause)));
		assertThat(VirtualController.released).isEmpty();
	}

	/** What the thread that made a call got, and whether it was virtual. */
	record Released(Throwable error, boolean virtual) {

	}

	/**
	 * Relays the upstream's body as it comes, or waits for it in a {@code Callable};
	 * hands what the thread got to the test.
	 */
	@RestController
	static class VirtualController {

		static final BlockingQueue<Released> released = new LinkedBlockingQueue<>();

		private final RestClient restClient;

		VirtualController(RestClient.Builder restClients, Environment environment) {
			this.restClient = restClients.clone().baseUrl(environment.getRequiredProperty("test.upstream")).build();
		}

		@GetMapping("/relay/{path}")
		void relay(@PathVariable String path, HttpServletResponse response) {
			response.setContentType("text/plain");
			call(() -> this.restClient.get().uri("/" + path).exchange((request, upstreamResponse) -> {
				relay(upstreamResponse.getBody(), response.getOutputStream());
				return null;
			}));
		}

		@GetMapping("/callable/{path}")
		Callable<String> callable(@PathVariable String path) {
			return () -> call(() -> this.restClient.get().uri("/" + path).retrieve().body(String.class));
		}

		private static <T> T call(Callable<T> call) {
			try {
				T result = call.call();
				released.add(new Released(new AssertionError("Not stopped"), isVirtual()));
				return result;
			}
			catch (Exception ex) {
				released.add(new Released(ex, isVirtual()));
				throw (ex instanceof RuntimeException runtime) ? runtime : new IllegalStateException(ex);
			}
		}

		/** {@code Thread.isVirtual()}, which the Java 17 build cannot name. */
		private static boolean isVirtual() {
			try {
				return (boolean) Thread.class.getMethod("isVirtual").invoke(Thread.currentThread());
			}
			catch (ReflectiveOperationException ex) {
				return false;
			}
		}

		private static void relay(InputStream body, OutputStream out) throws IOException {
			byte[] buffer = new byte[8192];
			int read;
			while ((read = body.read(buffer)) != -1) {
				out.write(buffer, 0, read);
				out.flush();
			}
		}

	}

}
