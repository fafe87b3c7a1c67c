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
import org.springframework.http.client.ClientHttpRequestInitializer;
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
	void restClientBuilderGetsNoInterceptorThatWouldBufferItsBodiesButHangupsInitializer() {
		this.runner.withUserConfiguration(OwnInterceptorConfiguration.class).run((context) -> {
			HangupClientHttpRequestInterceptor hangup = context.getBean(HangupClientHttpRequestInterceptor.class);
			RestClient.Builder builder = context.getBean(RestClient.Builder.class);
			List<ClientHttpRequestInterceptor> interceptors = new ArrayList<>();
			builder.requestInterceptors(interceptors::addAll);
			assertThat(interceptors).containsExactly(OwnInterceptorConfiguration.OWN);
			List<ClientHttpRequestInitializer> initializers = new ArrayList<>();
			builder.requestInitializers(initializers::addAll);
			assertThat(initializers).containsOnlyOnce(hangup);
		});
	}

	@Test
	void restTemplateFromBootsBuilderIsWatchedThroughItsRequestFactory() {
		this.runner.run((context) -> {
			HangupClientHttpRequestInterceptor hangup = context.getBean(HangupClientHttpRequestInterceptor.class);
			RestTemplate restTemplate = context.getBean(RestTemplateBuilder.class).build();
			assertThat(restTemplate.getInterceptors()).isEmpty();
			assertThat(restTemplate.getClientHttpRequestInitializers()).containsExactly(hangup);
			assertThat(restTemplate.getRequestFactory().getClass().getSimpleName()).isEqualTo("WatchedRequestFactory");
		});
	}

	@Test
	void initializerIsInstalledOnceWhenABuilderIsCustomizedAgain() {
		this.runner.run((context) -> {
			HangupClientHttpRequestInterceptor hangup = context.getBean(HangupClientHttpRequestInterceptor.class);
			RestClient.Builder builder = context.getBean(RestClient.Builder.class);
			context.getBean(RestClientCustomizer.class).customize(builder);
			List<ClientHttpRequestInitializer> initializers = new ArrayList<>();
			builder.requestInitializers(initializers::addAll);
			assertThat(initializers).containsOnlyOnce(hangup);
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
