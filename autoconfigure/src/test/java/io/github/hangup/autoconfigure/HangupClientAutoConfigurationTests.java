package io.github.hangup.autoconfigure;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import io.github.hangup.HangupClassifier;
import io.github.hangup.HangupRecorder;
import io.github.hangup.UpstreamTimeoutException;
import io.github.hangup.client.HangupExchangeFilterFunction;
import io.github.hangup.support.FaultyUpstream;
import org.junit.jupiter.api.Test;
import reactor.test.StepVerifier;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.webclient.WebClientCustomizer;
import org.springframework.boot.webclient.autoconfigure.WebClientAutoConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.web.reactive.function.client.ExchangeFilterFunction;
import org.springframework.web.reactive.function.client.WebClient;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tests for {@link HangupClientAutoConfiguration}, together with Boot's
 * {@link WebClientAutoConfiguration} that applies its customizer.
 */
class HangupClientAutoConfigurationTests {

	private static final String CUSTOMIZER = "hangupWebClientCustomizer";

	private final ApplicationContextRunner runner = new ApplicationContextRunner()
		.withConfiguration(AutoConfigurations.of(HangupAutoConfiguration.class, HangupClientAutoConfiguration.class,
				WebClientAutoConfiguration.class));

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
				// With the 30s default this would not fail within the verification deadline.
				StepVerifier.create(client.get().uri(upstream.baseUrl() + "/hang").retrieve().toBodilessEntity())
					.expectError(UpstreamTimeoutException.class)
					.verify(Duration.ofSeconds(5));
			});
		}
	}

	@Test
	void bootsReadTimeoutIsTheResponseTimeoutWhenHangupsIsNotSet() throws Exception {
		// No Boot connector here: only Hangup's timer can end the call.
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
		try (FaultyUpstream upstream = new FaultyUpstream()) {
			this.runner.withPropertyValues("spring.http.clients.read-timeout=200ms", "hangup.client.response-timeout=1h")
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

	@Configuration(proxyBeanMethods = false)
	static class UserFilterConfiguration {

		@Bean
		HangupExchangeFilterFunction userFilter(HangupClassifier classifier, HangupRecorder recorder) {
			return new HangupExchangeFilterFunction(classifier, recorder, Duration.ofSeconds(1));
		}

	}

}
