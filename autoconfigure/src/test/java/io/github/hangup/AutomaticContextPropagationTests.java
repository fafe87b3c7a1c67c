package io.github.hangup;

import java.time.Duration;
import java.util.Map;

import io.github.hangup.client.OutboundCalls;
import io.github.hangup.support.FaultyUpstream;
import io.github.hangup.support.HangupMeters;
import io.github.hangup.support.RawHttpClient;
import io.github.hangup.support.TestApps;
import io.micrometer.core.instrument.MeterRegistry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Hooks;
import reactor.core.publisher.Mono;

import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.core.env.Environment;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.reactive.function.client.WebClient;

import static org.awaitility.Awaitility.await;

/**
 * With Reactor's automatic context propagation on, a call subscribed outside the chain
 * from a later callback of the request, on another thread, still belongs to the request.
 */
class AutomaticContextPropagationTests {

	@AfterEach
	void resetHooks() {
		Hooks.disableAutomaticContextPropagation();
	}

	@Test
	void callDetachedFromAnAsyncCallbackIsCancelledWhenClientLeaves() throws Exception {
		try (FaultyUpstream upstream = new FaultyUpstream();
				ConfigurableApplicationContext proxy = TestApps.start(ProxyController.class,
						"test.upstream=" + upstream.baseUrl(), "spring.reactor.context-propagation=auto")) {
			int port = TestApps.port(proxy);
			try (RawHttpClient client = new RawHttpClient(port, Duration.ofSeconds(10))) {
				client.send("GET", "/later");
				upstream.awaitReceived("/hang", 1);
			}
			upstream.awaitPeerClosed("/hang", 1);
			MeterRegistry registry = proxy.getBean(MeterRegistry.class);
			HangupMeters.awaitClientHangups(registry, Map
				.of("kind=CLIENT_CANCEL,method=GET,phase=BEFORE_RESPONSE,upstream=127.0.0.1:" + upstream.port(), 1L));
			await().atMost(Duration.ofSeconds(10)).until(() -> proxy.getBean(OutboundCalls.class).inFlight() == 0);
		}
	}

	@RestController
	static class ProxyController {

		private final WebClient webClient;

		ProxyController(WebClient.Builder builder, Environment environment) {
			this.webClient = builder.baseUrl(environment.getRequiredProperty("test.upstream")).build();
		}

		@GetMapping("/later")
		Mono<String> later() {
			// The call starts on a worker thread after the handler returned.
			return Mono.delay(Duration.ofMillis(20))
				.doOnNext((tick) -> this.webClient.get().uri("/hang").retrieve().bodyToMono(String.class).subscribe())

				.then(Mono.never());
		}

	}

}
