package io.github.hangup.autoconfigure;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import io.github.hangup.HangupClassifier;
import io.github.hangup.HangupEvent;
import io.github.hangup.HangupKind;
import io.github.hangup.HangupListener;
import io.github.hangup.HangupPhase;
import io.github.hangup.HangupRecorder;
import io.github.hangup.UpstreamHangupException;
import io.github.hangup.server.HangupProblemDetailCustomizer;
import io.github.hangup.server.HangupWebExceptionHandler;
import io.github.hangup.server.HangupWebFilter;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Mono;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.assertj.ApplicationContextAssert;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.test.context.runner.ReactiveWebApplicationContextRunner;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.support.SimpleThreadScope;
import org.springframework.core.annotation.Order;
import org.springframework.mock.http.server.reactive.MockServerHttpRequest;
import org.springframework.mock.web.server.MockServerWebExchange;
import org.springframework.web.reactive.DispatcherHandler;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tests for {@link HangupServerAutoConfiguration}.
 */
class HangupServerAutoConfigurationTests {

	private final ReactiveWebApplicationContextRunner runner = new ReactiveWebApplicationContextRunner()
		.withConfiguration(AutoConfigurations.of(HangupAutoConfiguration.class, HangupServerAutoConfiguration.class));

	@Test
	void webFilterExceptionHandlerAndShutdownArePresentByDefault() {
		this.runner.run((context) -> assertThat(context).hasSingleBean(HangupWebFilter.class)
			.hasSingleBean(HangupWebExceptionHandler.class)
			.hasBean("hangupServerShutdown")
			.hasBean("hangupServerAborts"));
	}

	@Test
	void userWebFilterAndExceptionHandlerRecordToTheirOwnRecorder() {
		this.runner.withUserConfiguration(UserRecorderConfiguration.class).run((context) -> {
			assertThat(context).hasSingleBean(HangupWebFilter.class).hasSingleBean(HangupWebExceptionHandler.class);
			context.getBean(HangupWebFilter.class).filter(exchange(), (exchange) -> Mono.never()).subscribe().dispose();
			context.getBean(HangupWebExceptionHandler.class)
				.handle(exchange(),
						UpstreamHangupException.of(HangupKind.UPSTREAM_RESET, HangupPhase.BEFORE_RESPONSE, "GET",
								"catalog:8080", null))
				.block(Duration.ofSeconds(5));
			// The user's web filter and exception handler record through their own
			// recorder: to its listener only, not to the listener beans.
			Listened listened = context.getBean(Listened.class);
			assertThat(listened.own).extracting(HangupEvent::kind)
				.containsExactly(HangupKind.CLIENT_CANCEL, HangupKind.UPSTREAM_RESET);
			assertThat(listened.beans).isEmpty();
		});
	}

	@Test
	void problemDetailCustomizerBeansChangeTheAnswerInTheirOrder() {
		this.runner.withUserConfiguration(ProblemDetailCustomizersConfiguration.class).run((context) -> {
			MockServerWebExchange exchange = exchange();
			context.getBean(HangupWebExceptionHandler.class)
				.handle(exchange,
						UpstreamHangupException.of(HangupKind.UPSTREAM_TIMEOUT, HangupPhase.BEFORE_RESPONSE, "GET",
								"catalog:8080", null))
				.block(Duration.ofSeconds(5));
			assertThat(exchange.getResponse().getBodyAsString().block(Duration.ofSeconds(5)))
				.contains("\"detail\":\"first, then second\"");
		});
	}

	@Test
	void userWebFilterReplacesTheDefaultOne() {
		this.runner.withUserConfiguration(UserWebFilterConfiguration.class).run((context) -> {
			assertThat(context).hasSingleBean(HangupWebFilter.class);
			assertThat(context.getBean(HangupWebFilter.class)).isSameAs(context.getBean("userWebFilter"));
		});
	}

	@Test
	void userExceptionHandlerReplacesTheDefaultOne() {
		this.runner.withUserConfiguration(UserExceptionHandlerConfiguration.class).run((context) -> {
			assertThat(context).hasSingleBean(HangupWebExceptionHandler.class);
			assertThat(context.getBean(HangupWebExceptionHandler.class))
				.isSameAs(context.getBean("userExceptionHandler"));
		});
	}

	@Test
	void disabledPropertyTurnsTheServerComponentsOff() {
		this.runner.withPropertyValues("hangup.enabled=false")
			.run((context) -> assertNoServerComponents(assertThat(context).hasNotFailed()));
	}

	@Test
	void backsOffWithoutWebFlux() {
		this.runner.withClassLoader(new FilteredClassLoader(DispatcherHandler.class))
			.run((context) -> assertNoServerComponents(assertThat(context).hasNotFailed())
				.hasSingleBean(HangupClassifier.class));
	}

	@Test
	void backsOffInANonWebApplication() {
		new ApplicationContextRunner()
			.withConfiguration(
					AutoConfigurations.of(HangupAutoConfiguration.class, HangupServerAutoConfiguration.class))
			.run((context) -> assertNoServerComponents(assertThat(context).hasNotFailed())
				.hasSingleBean(HangupClassifier.class));
	}

	@Test
	void backsOffInAServletWebApplication() {
		// The servlet API is not on the test class path, so a servlet context cannot be
		// started; a registered "session" scope is what makes Boot's condition see one.
		new ApplicationContextRunner()
			.withInitializer((context) -> context.getBeanFactory().registerScope("session", new SimpleThreadScope()))
			.withConfiguration(
					AutoConfigurations.of(HangupAutoConfiguration.class, HangupServerAutoConfiguration.class))
			.withUserConfiguration(ServletProbeConfiguration.class)
			.run((context) -> assertNoServerComponents(assertThat(context).hasNotFailed().hasBean("servletProbe"))
				.hasSingleBean(HangupClassifier.class));
	}

	private static <A extends ApplicationContextAssert<?>> A assertNoServerComponents(A context) {
		context.doesNotHaveBean(HangupWebFilter.class)
			.doesNotHaveBean("hangupServerShutdown")
			.doesNotHaveBean("hangupServerAborts")
			.doesNotHaveBean(HangupWebExceptionHandler.class);
		return context;
	}

	private static MockServerWebExchange exchange() {
		return MockServerWebExchange.from(MockServerHttpRequest.get("/items/1"));
	}

	/**
	 * A web filter and an exception handler recording to a listener of their own, next to
	 * a listener bean.
	 */
	@Configuration(proxyBeanMethods = false)
	static class UserRecorderConfiguration {

		@Bean
		Listened listened() {
			return new Listened();
		}

		@Bean
		HangupListener bean(Listened listened) {
			return listened.beans::add;
		}

		@Bean
		HangupWebFilter userWebFilter(HangupClassifier classifier, Listened listened) {
			return new HangupWebFilter(classifier, HangupRecorder.of(listened.own::add));
		}

		@Bean
		HangupWebExceptionHandler userExceptionHandler(HangupClassifier classifier, Listened listened) {
			return new HangupWebExceptionHandler(classifier, HangupRecorder.of(listened.own::add), Map.of());
		}

	}

	@Configuration(proxyBeanMethods = false)
	static class ProblemDetailCustomizersConfiguration {

		@Bean
		@Order(2)
		HangupProblemDetailCustomizer second() {
			return (problem, kind, exchange) -> problem.setDetail(problem.getDetail() + ", then second");
		}

		@Bean
		@Order(1)
		HangupProblemDetailCustomizer first() {
			return (problem, kind, exchange) -> problem.setDetail("first");
		}

	}

	@Configuration(proxyBeanMethods = false)
	static class UserWebFilterConfiguration {

		@Bean
		HangupWebFilter userWebFilter(HangupClassifier classifier, HangupRecorder recorder) {
			return new HangupWebFilter(classifier, recorder);
		}

	}

	@Configuration(proxyBeanMethods = false)
	static class UserExceptionHandlerConfiguration {

		@Bean
		HangupWebExceptionHandler userExceptionHandler(HangupClassifier classifier, HangupRecorder recorder) {
			return new HangupWebExceptionHandler(classifier, recorder, Map.of());
		}

	}

	static class Listened {

		final List<HangupEvent> own = new CopyOnWriteArrayList<>();

		final List<HangupEvent> beans = new CopyOnWriteArrayList<>();

	}

	/**
	 * Proves that the context of the servlet scenario is seen as a servlet web
	 * application.
	 */
	@Configuration(proxyBeanMethods = false)
	static class ServletProbeConfiguration {

		@Bean
		@ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.SERVLET)
		String servletProbe() {
			return "servlet";
		}

	}

}
