package io.github.hangup.autoconfigure;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

import io.github.hangup.HangupClassifier;
import io.github.hangup.HangupRecorder;
import io.github.hangup.UpstreamTimeoutException;
import io.github.hangup.client.HangupExchangeFilterFunction;
import io.github.hangup.support.FaultyUpstream;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import reactor.netty.http.client.HttpClient;
import reactor.test.StepVerifier;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.http.client.HttpClientSettings;
import org.springframework.boot.http.client.autoconfigure.HttpClientAutoConfiguration;
import org.springframework.boot.http.client.autoconfigure.reactive.ReactiveHttpClientAutoConfiguration;
import org.springframework.boot.http.client.reactive.ClientHttpConnectorBuilder;
import org.springframework.boot.http.client.reactive.ReactorClientHttpConnectorBuilder;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.boot.webclient.WebClientCustomizer;
import org.springframework.boot.webclient.autoconfigure.WebClientAutoConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.http.client.reactive.ClientHttpConnector;
import org.springframework.http.client.reactive.ReactorClientHttpConnector;
import org.springframework.web.reactive.function.client.ExchangeFilterFunction;
import org.springframework.web.reactive.function.client.WebClient;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tests for {@link HangupClientAutoConfiguration}, together with Boot's
 * {@link WebClientAutoConfiguration} that applies its customizer and Boot's HTTP client
 * auto-configurations that build WebClient's connector.
 */
@ExtendWith(OutputCaptureExtension.class)
class HangupClientAutoConfigurationTests {

	private static final String CUSTOMIZER = "hangupWebClientCustomizer";

	private static final String BOOT_READ_TIMEOUT = "spring.http.clients.read-timeout=2s";

	private final ApplicationContextRunner runner = new ApplicationContextRunner().withConfiguration(AutoConfigurations
		.of(HangupAutoConfiguration.class, HangupClientAutoConfiguration.class, HttpClientAutoConfiguration.class,
				ReactiveHttpClientAutoConfiguration.class, WebClientAutoConfiguration.class));

	@Test
	void filterFunctionAndCustomizerArePresentByDefault() {
		this.runner.run((context) -> assertThat(context).hasSingleBean(HangupExchangeFilterFunction.class)
			.hasBean(CUSTOMIZER)
			.getBean(CUSTOMIZER)
			.isInstanceOf(WebClientCustomizer.class));
	}

	@Test
	void autoConfiguredWebClientBuilderHasTheFilterInstalledLast() {
		this.runner.run((context) -> {
			HangupExchangeFilterFunction filter = context.getBean(HangupExchangeFilterFunction.class);
			List<ExchangeFilterFunction> filters = filters(context.getBean(WebClient.Builder.class));
			assertThat(filters).containsOnlyOnce(filter);
			assertThat(filters).last().isSameAs(filter);
		});
	}

	@Test
	void filterIsInstalledOnceWhenTheCustomizerIsAppliedTwice() {
		this.runner.run((context) -> {
			HangupExchangeFilterFunction filter = context.getBean(HangupExchangeFilterFunction.class);
			WebClientCustomizer customizer = context.getBean(CUSTOMIZER, WebClientCustomizer.class);
			// Boot's builder bean has been customized once already.
			WebClient.Builder builder = context.getBean(WebClient.Builder.class);
			customizer.customize(builder);
			assertThat(filters(builder)).filteredOn((candidate) -> candidate == filter).hasSize(1);
		});
	}

	@Test
	void reapplyingTheCustomizerMovesTheFilterBackToTheEnd() {
		this.runner.run((context) -> {
			HangupExchangeFilterFunction filter = context.getBean(HangupExchangeFilterFunction.class);
			WebClient.Builder builder = context.getBean(WebClient.Builder.class);
			ExchangeFilterFunction other = (request, next) -> next.exchange(request);
			builder.filter(other);
			context.getBean(CUSTOMIZER, WebClientCustomizer.class).customize(builder);
			assertThat(filters(builder)).containsExactly(other, filter);
		});
	}

	@Test
	void userFilterFunctionReplacesTheDefaultOneAndIsInstalled() {
		this.runner.withUserConfiguration(UserFilterConfiguration.class).run((context) -> {
			assertThat(context).hasSingleBean(HangupExchangeFilterFunction.class);
			HangupExchangeFilterFunction userFilter = context.getBean("userFilter", HangupExchangeFilterFunction.class);
			assertThat(context.getBean(HangupExchangeFilterFunction.class)).isSameAs(userFilter);
			assertThat(filters(context.getBean(WebClient.Builder.class))).containsExactly(userFilter);
		});
	}

	@Test
	void responseTimeoutPropertyReachesTheFilter() throws Exception {
		try (FaultyUpstream upstream = new FaultyUpstream()) {
			this.runner.withPropertyValues("hangup.client.response-timeout=200ms").run((context) -> {
				WebClient client = context.getBean(WebClient.Builder.class).build();
				// With the 30s default this would not fail within the verification
				// deadline.
				StepVerifier.create(client.get().uri(upstream.baseUrl() + "/hang").retrieve().toBodilessEntity())
					.expectError(UpstreamTimeoutException.class)
					.verify(Duration.ofSeconds(5));
			});
		}
	}

	@Test
	void droppedErrorsOfStoppedCallsAreQuietedByDefault() {
		this.runner.run((context) -> assertThat(context.getBean(HangupExchangeFilterFunction.class))
			.hasFieldOrPropertyWithValue("quietDroppedErrors", true));
	}

	@Test
	void quietDroppedErrorsPropertyReachesTheFilter() {
		this.runner.withPropertyValues("hangup.logging.quiet-dropped-errors=false")
			.run((context) -> assertThat(context.getBean(HangupExchangeFilterFunction.class))
				.hasFieldOrPropertyWithValue("quietDroppedErrors", false));
	}

	@Test
	void streamIdleTimeoutBeyondADayFailsTheApplicationNamingTheProperty() {
		this.runner.withPropertyValues("hangup.client.stream-idle-timeout=2d")
			.run((context) -> assertThat(context).getFailure()
				.rootCause()
				.hasMessageContaining("hangup.client.stream-idle-timeout must be between 0 (no limit) and PT24H"));
	}

	@Test
	void bootsReadTimeoutIsTheResponseTimeoutWhenHangupsIsNotSet() throws Exception {
		try (FaultyUpstream upstream = new FaultyUpstream()) {
			this.runner.withPropertyValues("spring.http.clients.read-timeout=200ms").run((context) -> {
				WebClient client = context.getBean(WebClient.Builder.class).build();
				StepVerifier.create(client.get().uri(upstream.baseUrl() + "/hang").retrieve().toBodilessEntity())
					.expectError(UpstreamTimeoutException.class)
					.verify(Duration.ofSeconds(5));
			});
		}
	}

	@Test
	void hangupsResponseTimeoutTakesPrecedenceOverBootsReadTimeout() throws Exception {
		// Also at the connector Boot builds, which would end the call after 200 ms
		// otherwise.
		try (FaultyUpstream upstream = new FaultyUpstream()) {
			this.runner
				.withPropertyValues("spring.http.clients.read-timeout=200ms", "hangup.client.response-timeout=1h")
				.run((context) -> {
					WebClient client = context.getBean(WebClient.Builder.class).build();
					StepVerifier.create(client.get().uri(upstream.baseUrl() + "/hang").retrieve().toBodilessEntity())
						.expectSubscription()
						.expectNoEvent(Duration.ofSeconds(1))
						.thenCancel()
						.verify(Duration.ofSeconds(5));
				});
		}
	}

	@Test
	void responseTimeoutIsThirtySecondsWhenNeitherIsSet() {
		this.runner.run((context) -> assertThat(HangupClientAutoConfiguration
			.responseTimeout(context.getBean(HangupProperties.class), context.getEnvironment()))
			.isEqualTo(Duration.ofSeconds(30)));
	}

	@Test
	void bootsReadTimeoutBeyondHangupsBoundIsCappedNotOverflowed() {
		this.runner.withPropertyValues("spring.http.clients.read-timeout=3650d")
			.run((context) -> assertThat(HangupClientAutoConfiguration
				.responseTimeout(context.getBean(HangupProperties.class), context.getEnvironment()))
				.isEqualTo(Duration.ofDays(1)));
	}

	@Test
	void startUpSaysWhichTimeoutAppliesWhenBothAreSetAndDiffer(CapturedOutput output) {
		this.runner.withPropertyValues(BOOT_READ_TIMEOUT, "hangup.client.response-timeout=5s")
			.run((context) -> assertThat(context).hasSingleBean(HangupExchangeFilterFunction.class));
		assertThat(output).containsOnlyOnce("Both hangup.client.response-timeout (PT5S) and "
				+ "spring.http.clients.read-timeout (PT2S) are set: Hangup's applies to WebClient calls");
	}

	@Test
	void startUpSaysNothingWhenBothAreSetAlike(CapturedOutput output) {
		this.runner.withPropertyValues(BOOT_READ_TIMEOUT, "hangup.client.response-timeout=2s")
			.run((context) -> assertThat(context).hasSingleBean(HangupExchangeFilterFunction.class));
		assertThat(output).doesNotContain("Both hangup.client.response-timeout");
	}

	@Test
	void connectorBootBuildsHasNoResponseTimeoutWhenHangupsTakesBootsReadTimeout() {
		this.runner.withPropertyValues(BOOT_READ_TIMEOUT).run((context) -> {
			assertThat(context).hasSingleBean(ConnectorResponseTimeout.class);
			assertThat(responseTimeoutOfClientBuiltBy(context.getBean(ClientHttpConnectorBuilder.class),
					context.getBean(HttpClientSettings.class)))
				.isNull();
		});
	}

	@Test
	void connectorBootBuildsHasNoResponseTimeoutWhenHangupsOwnTimeoutIsSetToo() {
		this.runner.withPropertyValues(BOOT_READ_TIMEOUT, "hangup.client.response-timeout=5s")
			.run((context) -> assertThat(responseTimeoutOfClientBuiltBy(
					context.getBean(ClientHttpConnectorBuilder.class), context.getBean(HttpClientSettings.class)))
				.isNull());
	}

	@Test
	void connectorWithAReadTimeoutOtherThanBootsKeepsIt() {
		// A service group's own read-timeout, say: Hangup did not take its place.
		this.runner.withPropertyValues(BOOT_READ_TIMEOUT)
			.run((context) -> assertThat(
					responseTimeoutOfClientBuiltBy(context.getBean(ClientHttpConnectorBuilder.class),
							context.getBean(HttpClientSettings.class).withReadTimeout(Duration.ofSeconds(7))))
				.isEqualTo(Duration.ofSeconds(7)));
	}

	@Test
	void connectorBuilderIsLeftAsItIsWithoutBootsReadTimeout() {
		this.runner.run((context) -> {
			ReactorClientHttpConnectorBuilder builder = ClientHttpConnectorBuilder.reactor();
			assertThat(context.getBean(ConnectorResponseTimeout.class).customize(builder)).isSameAs(builder);
		});
	}

	@Test
	void usersConnectorBuilderKeepsBootsReadTimeout() {
		this.runner.withPropertyValues(BOOT_READ_TIMEOUT)
			.withUserConfiguration(UserConnectorBuilderConfiguration.class)
			.run((context) -> {
				ClientHttpConnectorBuilder<?> builder = context.getBean(ClientHttpConnectorBuilder.class);
				assertThat(builder).isSameAs(context.getBean("userConnectorBuilder"));
				assertThat(responseTimeoutOfClientBuiltBy(builder, context.getBean(HttpClientSettings.class)))
					.isEqualTo(Duration.ofSeconds(2));
			});
	}

	@Test
	void usersConnectorIsLeftAsItIs() {
		this.runner.withPropertyValues(BOOT_READ_TIMEOUT)
			.withUserConfiguration(UserConnectorConfiguration.class)
			.run((context) -> assertThat(context).getBean(ClientHttpConnector.class)
				.isSameAs(context.getBean("userConnector")));
	}

	@Test
	void connectorBootBuildsKeepsBootsReadTimeoutWhenHangupIsDisabled() {
		this.runner.withPropertyValues(BOOT_READ_TIMEOUT, "hangup.enabled=false").run((context) -> {
			assertThat(context).doesNotHaveBean(ConnectorResponseTimeout.class);
			assertThat(responseTimeoutOfClientBuiltBy(context.getBean(ClientHttpConnectorBuilder.class),
					context.getBean(HttpClientSettings.class)))
				.isEqualTo(Duration.ofSeconds(2));
		});
	}

	@Test
	void connectorCustomizationBacksOffWithoutReactorNetty() {
		this.runner.withPropertyValues(BOOT_READ_TIMEOUT)
			.withClassLoader(new FilteredClassLoader(HttpClient.class))
			.run((context) -> assertThat(context).hasNotFailed()
				.doesNotHaveBean(ConnectorResponseTimeout.class)
				.hasSingleBean(HangupExchangeFilterFunction.class));
	}

	@Test
	void disabledPropertyTurnsTheFilterOffAndLeavesWebClientUntouched() {
		this.runner.withPropertyValues("hangup.enabled=false").run((context) -> {
			assertThat(context).hasNotFailed()
				.doesNotHaveBean(HangupExchangeFilterFunction.class)
				.doesNotHaveBean(CUSTOMIZER)
				.hasSingleBean(WebClient.Builder.class);
			assertThat(filters(context.getBean(WebClient.Builder.class))).isEmpty();
		});
	}

	@Test
	void backsOffWithoutWebClient() {
		this.runner.withClassLoader(new FilteredClassLoader(WebClient.class))
			.run((context) -> assertThat(context).hasNotFailed()
				.doesNotHaveBean(HangupExchangeFilterFunction.class)
				.doesNotHaveBean(CUSTOMIZER)
				.hasSingleBean(HangupClassifier.class));
	}

	@Test
	void backsOffWithoutBootsWebClientModule() {
		this.runner.withClassLoader(new FilteredClassLoader(WebClientCustomizer.class))
			.run((context) -> assertThat(context).hasNotFailed()
				.doesNotHaveBean(HangupExchangeFilterFunction.class)
				.doesNotHaveBean(CUSTOMIZER)
				.hasSingleBean(HangupClassifier.class));
	}

	private static List<ExchangeFilterFunction> filters(WebClient.Builder builder) {
		List<ExchangeFilterFunction> filters = new ArrayList<>();
		builder.filters(filters::addAll);
		return filters;
	}

	/**
	 * The response timeout of the Reactor Netty client the builder builds for the
	 * settings, read by one more customizer, applied after every other.
	 */
	private static @Nullable Duration responseTimeoutOfClientBuiltBy(ClientHttpConnectorBuilder<?> builder,
			HttpClientSettings settings) {
		AtomicReference<HttpClient> built = new AtomicReference<>();
		((ReactorClientHttpConnectorBuilder) builder).withHttpClientCustomizer((client) -> {
			built.set(client);
			return client;
		}).build(settings);
		return built.get().configuration().responseTimeout();
	}

	@Configuration(proxyBeanMethods = false)
	static class UserFilterConfiguration {

		@Bean
		HangupExchangeFilterFunction userFilter(HangupClassifier classifier, HangupRecorder recorder) {
			return HangupExchangeFilterFunction.builder(classifier, recorder)
				.responseTimeout(Duration.ofSeconds(1))
				.build();
		}

	}

	@Configuration(proxyBeanMethods = false)
	static class UserConnectorBuilderConfiguration {

		@Bean
		ClientHttpConnectorBuilder<?> userConnectorBuilder() {
			return ClientHttpConnectorBuilder.reactor();
		}

	}

	@Configuration(proxyBeanMethods = false)
	static class UserConnectorConfiguration {

		@Bean
		ClientHttpConnector userConnector() {
			return new ReactorClientHttpConnector(HttpClient.create().responseTimeout(Duration.ofSeconds(2)));
		}

	}

}
