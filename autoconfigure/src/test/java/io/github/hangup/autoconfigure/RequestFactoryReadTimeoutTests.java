package io.github.hangup.autoconfigure;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;

import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.http.client.ClientHttpRequestFactoryBuilder;
import org.springframework.boot.http.client.HttpClientSettings;
import org.springframework.boot.http.client.autoconfigure.ClientHttpRequestFactoryBuilderCustomizer;
import org.springframework.boot.http.client.autoconfigure.HttpClientAutoConfiguration;
import org.springframework.boot.http.client.autoconfigure.imperative.ImperativeHttpClientAutoConfiguration;
import org.springframework.boot.restclient.autoconfigure.RestClientAutoConfiguration;
import org.springframework.boot.restclient.autoconfigure.RestTemplateAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.http.client.ClientHttpRequestFactory;
import org.springframework.http.client.SimpleClientHttpRequestFactory;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tests for {@link RequestFactoryReadTimeout}: the read timeout the request factories
 * Boot builds for {@code RestClient} and {@code RestTemplate} get.
 */
class RequestFactoryReadTimeoutTests {

	private static final Duration BOOT = Duration.ofSeconds(7);

	private final ApplicationContextRunner runner = new ApplicationContextRunner()
		.withConfiguration(AutoConfigurations.of(HangupAutoConfiguration.class, HangupRestClientAutoConfiguration.class,
				HttpClientAutoConfiguration.class, ImperativeHttpClientAutoConfiguration.class,
				RestClientAutoConfiguration.class, RestTemplateAutoConfiguration.class));

	/**
	 * A read timeout also limits each silence of a body (and, on the JDK client, the time
	 * to read all of it): the factories keep none, as Boot builds them, and Hangup limits
	 * the wait for the response head alone.
	 */
	@Test
	void withNeitherTimeoutSetFactoriesGetNoReadTimeoutAndTheHeadThirtySeconds() {
		assertThat(built(null, null, HttpClientSettings.defaults())).isNull();
		assertThat(new RequestFactoryReadTimeout(null, null).headTimeout(null)).isEqualTo(Duration.ofSeconds(30));
	}

	@Test
	void anyTimeoutSetLeavesTheHeadToTheFactorysReadTimeout() {
		assertThat(new RequestFactoryReadTimeout(null, BOOT).headTimeout(BOOT)).isNull();
		assertThat(new RequestFactoryReadTimeout(Duration.ofSeconds(2), null).headTimeout(null)).isNull();
		assertThat(new RequestFactoryReadTimeout(Duration.ZERO, null).headTimeout(null)).isNull();
		assertThat(new RequestFactoryReadTimeout(null, null).headTimeout(Duration.ofSeconds(90))).isNull();
	}

	@Test
	void withOnlyBootsReadTimeoutSetFactoriesKeepIt() {
		assertThat(built(null, BOOT, HttpClientSettings.defaults().withReadTimeout(BOOT))).isEqualTo(BOOT);
	}

	@Test
	void hangupsResponseTimeoutTakesThePlaceOfBootsReadTimeout() {
		assertThat(built(Duration.ofSeconds(2), BOOT, HttpClientSettings.defaults().withReadTimeout(BOOT)))
			.isEqualTo(Duration.ofSeconds(2));
	}

	@Test
	void hangupsResponseTimeoutAppliesWithoutBootsReadTimeout() {
		assertThat(built(Duration.ofSeconds(2), null, HttpClientSettings.defaults())).isEqualTo(Duration.ofSeconds(2));
	}

	@Test
	void zeroResponseTimeoutLeavesFactoriesWithoutAReadTimeout() {
		assertThat(built(Duration.ZERO, BOOT, HttpClientSettings.defaults().withReadTimeout(BOOT))).isNull();
	}

	@Test
	void readTimeoutSetForOneClientStays() {
		Duration own = Duration.ofSeconds(90);
		assertThat(built(Duration.ofSeconds(2), BOOT, HttpClientSettings.defaults().withReadTimeout(own)))
			.isEqualTo(own);
	}

	@Test
	void settingsLeftOutAreTakenForBootsDefaults() {
		AtomicReference<@Nullable HttpClientSettings> seen = new AtomicReference<>();
		new RequestFactoryReadTimeout(Duration.ofSeconds(2), null).customize(capturing(seen)).build();
		HttpClientSettings settings = seen.get();
		assertThat(settings).isNotNull();
		assertThat(settings.readTimeout()).isEqualTo(Duration.ofSeconds(2));
	}

	@Test
	void customizerIsAutoConfiguredFromBothProperties() {
		this.runner.withPropertyValues("hangup.client.response-timeout=2s", "spring.http.clients.read-timeout=7s")
			.run((context) -> {
				RequestFactoryReadTimeout customizer = context.getBean(RequestFactoryReadTimeout.class);
				assertThat(customizer.readTimeout(BOOT)).isEqualTo(Duration.ofSeconds(2));
				assertThat(customizer.readTimeout(Duration.ofSeconds(90))).isEqualTo(Duration.ofSeconds(90));
			});
	}

	@Test
	void customizerIsOrderedAfterTheApplicationsOwn() {
		this.runner
			.withBean("own", ClientHttpRequestFactoryBuilderCustomizer.class,
					() -> (ClientHttpRequestFactoryBuilderCustomizer<ClientHttpRequestFactoryBuilder<?>>) (
							builder) -> builder)
			.run((context) -> assertThat(
					context.getBeanProvider(ClientHttpRequestFactoryBuilderCustomizer.class).orderedStream().toList())
				.last()
				.isInstanceOf(RequestFactoryReadTimeout.class));
	}

	@Test
	void customizerBacksOffWhenHangupIsDisabled() {
		this.runner.withPropertyValues("hangup.enabled=false")
			.run((context) -> assertThat(context).doesNotHaveBean(RequestFactoryReadTimeout.class));
	}

	private static @Nullable Duration built(@Nullable Duration own, @Nullable Duration boot,
			HttpClientSettings settings) {
		AtomicReference<@Nullable HttpClientSettings> seen = new AtomicReference<>();
		new RequestFactoryReadTimeout(own, boot).customize(capturing(seen)).build(settings);
		HttpClientSettings built = seen.get();
		assertThat(built).isNotNull();
		return built.readTimeout();
	}

	private static ClientHttpRequestFactoryBuilder<ClientHttpRequestFactory> capturing(
			AtomicReference<@Nullable HttpClientSettings> seen) {
		return (settings) -> {
			seen.set(settings);
			return new SimpleClientHttpRequestFactory();
		};
	}

}
