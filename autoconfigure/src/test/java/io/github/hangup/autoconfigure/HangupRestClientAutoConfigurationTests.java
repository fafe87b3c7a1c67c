package io.github.hangup.autoconfigure;

import java.util.ArrayList;
import java.util.List;

import io.github.hangup.client.blocking.HangupClientHttpRequestInterceptor;
import org.junit.jupiter.api.Test;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.http.client.autoconfigure.HttpClientAutoConfiguration;
import org.springframework.boot.http.client.autoconfigure.imperative.ImperativeHttpClientAutoConfiguration;
import org.springframework.boot.restclient.RestClientCustomizer;
import org.springframework.boot.restclient.RestTemplateBuilder;
import org.springframework.boot.restclient.autoconfigure.RestClientAutoConfiguration;
import org.springframework.boot.restclient.autoconfigure.RestTemplateAutoConfiguration;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.http.client.ClientHttpRequestInterceptor;
import org.springframework.web.client.RestClient;
import org.springframework.web.client.RestTemplate;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tests for {@link HangupRestClientAutoConfiguration}.
 */
class HangupRestClientAutoConfigurationTests {

	private final ApplicationContextRunner runner = new ApplicationContextRunner()
		.withConfiguration(AutoConfigurations.of(HangupAutoConfiguration.class, HangupRestClientAutoConfiguration.class,
				HttpClientAutoConfiguration.class, ImperativeHttpClientAutoConfiguration.class,
				RestClientAutoConfiguration.class, RestTemplateAutoConfiguration.class));

	private final ClientHttpRequestInterceptor own = (request, body, execution) -> execution.execute(request, body);

	@Test
	void interceptorIsAfterThoseOfOtherCustomizersOnBootsRestClientBuilder() {
		this.runner.withUserConfiguration(OwnInterceptorConfiguration.class).run((context) -> {
			HangupClientHttpRequestInterceptor hangup = context.getBean(HangupClientHttpRequestInterceptor.class);
			List<ClientHttpRequestInterceptor> interceptors = new ArrayList<>();
			context.getBean(RestClient.Builder.class).requestInterceptors(interceptors::addAll);
			assertThat(interceptors).containsExactly(OwnInterceptorConfiguration.OWN, hangup);
		});
	}

	@Test
	void interceptorIsLastOnEveryRestTemplateBuiltFromBootsBuilder() {
		this.runner.run((context) -> {
			HangupClientHttpRequestInterceptor hangup = context.getBean(HangupClientHttpRequestInterceptor.class);
			RestTemplate restTemplate = context.getBean(RestTemplateBuilder.class).interceptors(this.own).build();
			assertThat(restTemplate.getInterceptors()).containsExactly(this.own, hangup);
		});
	}

	@Test
	void interceptorIsInstalledOnceWhenABuilderIsCustomizedAgain() {
		this.runner.run((context) -> {
			HangupClientHttpRequestInterceptor hangup = context.getBean(HangupClientHttpRequestInterceptor.class);
			RestClient.Builder builder = context.getBean(RestClient.Builder.class);
			context.getBean(RestClientCustomizer.class).customize(builder);
			List<ClientHttpRequestInterceptor> interceptors = new ArrayList<>();
			builder.requestInterceptors(interceptors::addAll);
			assertThat(interceptors).containsOnlyOnce(hangup);
		});
	}

	@Test
	void backsOffWithoutRestClient() {
		this.runner.withClassLoader(new FilteredClassLoader(RestClient.class))
			.run((context) -> assertThat(context).doesNotHaveBean(HangupClientHttpRequestInterceptor.class));
	}

	@Test
	void backsOffWhenHangupIsDisabled() {
		this.runner.withPropertyValues("hangup.enabled=false")
			.run((context) -> assertThat(context).doesNotHaveBean(HangupClientHttpRequestInterceptor.class));
	}

	@Configuration(proxyBeanMethods = false)
	static class OwnInterceptorConfiguration {

		static final ClientHttpRequestInterceptor OWN = (request, body, execution) -> execution.execute(request, body);

		@Bean
		RestClientCustomizer ownInterceptor() {
			return (builder) -> builder.requestInterceptor(OWN);
		}

	}

}
