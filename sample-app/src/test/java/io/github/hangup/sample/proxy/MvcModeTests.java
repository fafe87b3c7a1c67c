package io.github.hangup.sample.proxy;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodyHandlers;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;

import io.github.hangup.sample.SampleApplication;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The sample with the {@code mvc} profile: the same proxy and demo upstream on Spring MVC
 * and Tomcat, answering as the default WebFlux mode does, byte for byte.
 */
class MvcModeTests {

	private static final Duration DEADLINE = Duration.ofSeconds(10);

	private static final HttpClient client = HttpClient.newBuilder().connectTimeout(DEADLINE).build();

	private static ConfigurableApplicationContext mvc;

	private static ConfigurableApplicationContext webflux;

	@BeforeAll
	static void startBothModes() {
		mvc = run("mvc");
		webflux = run();
	}

	@AfterAll
	static void stopBothModes() {
		mvc.close();
		webflux.close();
	}

	@Test
	void theMvcProfileRunsTheProxyOnTomcatWithoutAnyWebFluxRoute() {
		assertThat(((WebServerApplicationContext) mvc).getWebServer().getClass().getSimpleName())
			.isEqualTo("TomcatWebServer");
		assertThat(mvc.getBeansOfType(ServletReverseProxy.class)).hasSize(1);
		assertThat(mvc.getBeansOfType(ReverseProxy.class)).isEmpty();
		assertThat(mvc.getBeanNamesForType(ReactiveProxyConfiguration.class)).isEmpty();
		assertThat(webflux.getBeansOfType(ReverseProxy.class)).hasSize(1);
		assertThat(webflux.getBeansOfType(ServletReverseProxy.class)).isEmpty();
		assertThat(webflux.getBeanNamesForType(ServletProxyConfiguration.class)).isEmpty();
	}

	@Test
	void anUpstreamThatHangsUpIsAnsweredBadGatewayAsOnWebFluxAndCountedOnce() throws Exception {
		HttpResponse<String> answer = get(mvc, "/hangup");
		assertThat(answer.statusCode()).isEqualTo(502);
		assertThat(answer.headers().firstValue("content-type")).hasValue("application/problem+json");
		assertThat(answer.body()).contains("\"hangup\":\"UPSTREAM_RESET\"");
		HttpResponse<String> onWebFlux = get(webflux, "/hangup");
		assertThat(onWebFlux.statusCode()).isEqualTo(502);
		assertThat(onWebFlux.body()).contains("\"hangup\":\"UPSTREAM_RESET\"");
		assertCountedOnce(mvc, "UPSTREAM_RESET");
	}

	@Test
	void anUpstreamSlowerThanTheResponseTimeoutIsAnsweredGatewayTimeoutAndCountedOnce() throws Exception {
		HttpResponse<String> answer = get(mvc, "/slow?ms=30000");
		assertThat(answer.statusCode()).isEqualTo(504);
		assertThat(answer.headers().firstValue("content-type")).hasValue("application/problem+json");
		assertThat(answer.body()).contains("\"hangup\":\"UPSTREAM_TIMEOUT\"");
		assertCountedOnce(mvc, "UPSTREAM_TIMEOUT");
	}

	@Test
	void healthyRoutesAnswerTheSameBytesInBothModes() throws Exception {
		for (String path : List.of("/", "/ok", "/stream?chunks=3&interval=10", "/sse?count=3&interval=10",
				"/no-such-endpoint")) {
			HttpResponse<byte[]> onMvc = getBytes(mvc, path);
			HttpResponse<byte[]> onWebFlux = getBytes(webflux, path);
			assertThat(onMvc.statusCode()).as(path).isEqualTo(onWebFlux.statusCode());
			assertThat(onMvc.headers().firstValue("content-type")).as(path)
				.isEqualTo(onWebFlux.headers().firstValue("content-type"))
				.isPresent();
			assertThat(onMvc.body()).as(path).isEqualTo(onWebFlux.body()).isNotEmpty();
		}
		assertThat(getBytes(mvc, "/ok").body()).isEqualTo("ok\n".getBytes(StandardCharsets.UTF_8));
	}

	@Test
	void eventsArriveOneByOneBeforeTheUpstreamFinishes() throws Exception {
		// The second event comes 3 s after the first (within the 4 s response timeout): a
		// relay that buffers would hold the first until then.
		HttpRequest request = HttpRequest.newBuilder(uri(mvc, "/sse?count=2&interval=3000")).timeout(DEADLINE).build();
		long start = System.nanoTime();
		HttpResponse<InputStream> answer = client.send(request, BodyHandlers.ofInputStream());
		try (BufferedReader events = new BufferedReader(new InputStreamReader(answer.body(), StandardCharsets.UTF_8))) {
			assertThat(events.readLine()).isEqualTo("id: 1");
			assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofMillis(2500));
			assertThat(answer.headers().firstValue("content-type"))
				.hasValueSatisfying((contentType) -> assertThat(contentType).startsWith("text/event-stream"));
			assertThat(events.lines()).containsExactly("event: tick", "data: tick 1 of 2", "", "id: 2", "event: tick",
					"data: tick 2 of 2", "");
		}
	}

	private static void assertCountedOnce(ConfigurableApplicationContext context, String kind) {
		MeterRegistry registry = context.getBean(MeterRegistry.class);
		await().atMost(DEADLINE).untilAsserted(() -> assertThat(hangups(registry, kind)).isEqualTo(1));
		// And it stays at one: nothing counts the same hang-up again a moment later.
		await().during(Duration.ofMillis(300))
			.atMost(DEADLINE)
			.untilAsserted(() -> assertThat(hangups(registry, kind)).isEqualTo(1));
	}

	private static long hangups(MeterRegistry registry, String kind) {
		Timer timer = registry.find("http.server.hangups")
			.tag("kind", kind)
			.tag("phase", "BEFORE_RESPONSE")
			.tag("uri", "/**")
			.timer();
		return (timer != null) ? timer.count() : 0;
	}

	private static HttpResponse<String> get(ConfigurableApplicationContext context, String path)
			throws IOException, InterruptedException {
		return client.send(HttpRequest.newBuilder(uri(context, path)).timeout(DEADLINE).build(),
				BodyHandlers.ofString());
	}

	private static HttpResponse<byte[]> getBytes(ConfigurableApplicationContext context, String path)
			throws IOException, InterruptedException {
		return client.send(HttpRequest.newBuilder(uri(context, path)).timeout(DEADLINE).build(),
				BodyHandlers.ofByteArray());
	}

	private static URI uri(ConfigurableApplicationContext context, String path) {
		return URI
			.create("http://127.0.0.1:" + ((WebServerApplicationContext) context).getWebServer().getPort() + path);
	}

	private static ConfigurableApplicationContext run(String... profiles) {
		// Arguments, which application.properties cannot override, unlike default
		// properties.
		return new SpringApplicationBuilder(SampleApplication.class).profiles(profiles)
			.run("--server.port=0", "--spring.main.banner-mode=off", "--hangup.client.response-timeout=4s");
	}

}
