package io.github.hangup.autoconfigure;

import java.io.InputStream;
import java.net.ConnectException;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import io.github.hangup.client.PropagationMode;
import io.github.hangup.DefaultHangupClassifier;
import io.github.hangup.HangupClassifier;
import io.github.hangup.HangupEvent;
import io.github.hangup.HangupKind;
import io.github.hangup.HangupListener;
import io.github.hangup.HangupPhase;
import io.github.hangup.HangupRecorder;
import io.github.hangup.LoggingHangupListener;
import io.github.hangup.UpstreamUnreachableException;
import io.github.hangup.client.HangupExchangeFilterFunction;
import io.github.hangup.metrics.HangupMetrics;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.context.annotation.ImportCandidates;
import org.springframework.boot.test.context.assertj.AssertableApplicationContext;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.annotation.Order;
import org.springframework.http.HttpMethod;
import org.springframework.web.reactive.function.client.ClientRequest;
import org.springframework.web.reactive.function.client.ExchangeFunction;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tests for {@link HangupAutoConfiguration}: the core beans, their back-off, the
 * properties and their validation, and the files that register and describe the
 * auto-configuration.
 */
class HangupAutoConfigurationTests {

	private final ApplicationContextRunner runner = new ApplicationContextRunner()
		.withConfiguration(AutoConfigurations.of(HangupAutoConfiguration.class));

	@Test
	void classifierRecorderLoggingListenerAndPropertiesArePresentByDefault() {
		this.runner.run((context) -> assertThat(context).hasSingleBean(DefaultHangupClassifier.class)
			.hasSingleBean(HangupClassifier.class)
			.hasSingleBean(HangupRecorder.class)
			.hasSingleBean(LoggingHangupListener.class)
			.hasSingleBean(HangupProperties.class));
	}

	@Test
	void userClassifierReplacesTheDefaultOne() {
		this.runner.withUserConfiguration(UserClassifierConfiguration.class).run((context) -> {
			assertThat(context).hasSingleBean(HangupClassifier.class).doesNotHaveBean(DefaultHangupClassifier.class);
			assertThat(context.getBean(HangupClassifier.class)).isSameAs(context.getBean("userClassifier"));
		});
	}

	@Test
	void userRecorderReplacesTheDefaultOne() {
		this.runner
			.withConfiguration(
					AutoConfigurations.of(HangupClientAutoConfiguration.class, HangupMetricsAutoConfiguration.class))
			.withBean(SimpleMeterRegistry.class)
			.withUserConfiguration(UserRecorderConfiguration.class)
			.run((context) -> {
				assertThat(context).hasSingleBean(HangupRecorder.class);
				ClientRequest request = ClientRequest.create(HttpMethod.GET, URI.create("http://catalog:8080/items"))
					.build();
				ExchangeFunction refused = (sent) -> Mono.error(new ConnectException("Connection refused"));
				StepVerifier.create(context.getBean(HangupExchangeFilterFunction.class).filter(request, refused))
					.expectError(UpstreamUnreachableException.class)
					.verify(Duration.ofSeconds(5));
				// Only the listener the user's recorder was built with: none of the
				// listener beans the default recorder would call (the logging one, the
				// user's, the Micrometer one).
				assertThat(context.getBean(CallLog.class).names).containsExactly("own");
				assertThat(context.getBean(MeterRegistry.class).find(HangupMetrics.CLIENT_HANGUPS).timers()).isEmpty();
			});
	}

	@Test
	void userLoggingListenerReplacesTheDefaultOne() {
		this.runner.withUserConfiguration(UserLoggingListenerConfiguration.class).run((context) -> {
			assertThat(context).hasSingleBean(LoggingHangupListener.class);
			assertThat(context.getBean(LoggingHangupListener.class)).isSameAs(context.getBean("userLoggingListener"));
		});
	}

	@Test
	void userListenerIsAddedNextToTheLoggingListenerInsteadOfReplacingIt() {
		this.runner.withUserConfiguration(CollectingListenersConfiguration.class)
			.run((context) -> assertThat(context).hasSingleBean(LoggingHangupListener.class)
				.getBeans(HangupListener.class)
				.containsOnlyKeys("hangupLoggingListener", "first", "second"));
	}

	@Test
	void recorderCallsEveryListenerBeanInOrder() {
		this.runner.withUserConfiguration(CollectingListenersConfiguration.class).run((context) -> {
			HangupEvent event = event();
			context.getBean(HangupRecorder.class).record(event);
			CallLog calls = context.getBean(CallLog.class);
			assertThat(calls.names).containsExactly("first", "second");
			assertThat(calls.events).containsExactly(event, event);
		});
	}

	@Test
	void recorderCallsTheOtherListenersWhenOneFails() {
		this.runner.withUserConfiguration(FailingListenerConfiguration.class).run((context) -> {
			context.getBean(HangupRecorder.class).record(event());
			assertThat(context.getBean(CallLog.class).names).containsExactly("second");
		});
	}

	@Test
	void disabledPropertyTurnsOffEveryCoreBean() {
		this.runner.withPropertyValues("hangup.enabled=false")
			.run((context) -> assertThat(context).hasNotFailed()
				.doesNotHaveBean(HangupClassifier.class)
				.doesNotHaveBean(HangupRecorder.class)
				.doesNotHaveBean(LoggingHangupListener.class)
				.doesNotHaveBean(HangupProperties.class));
	}

	@Test
	void propertiesHaveTheirDocumentedDefaults() {
		this.runner.run((context) -> {
			HangupProperties properties = context.getBean(HangupProperties.class);
			assertThat(properties.isEnabled()).isTrue();
			// Not set: Boot's read timeout, or 30s, applies (see
			// HangupClientAutoConfigurationTests).
			assertThat(properties.getClient().getResponseTimeout()).isNull();
			assertThat(properties.propagationMode()).isEqualTo(PropagationMode.REQUEST);
			assertThat(properties.getServer().getStatus().getUpstreamTimeout()).isEqualTo(504);
			assertThat(properties.getServer().getStatus().getUpstreamReset()).isEqualTo(502);
			assertThat(properties.getServer().getStatus().getUpstreamUnreachable()).isEqualTo(502);
			assertThat(properties.getMetrics().getMaxUpstreamTags()).isEqualTo(100);
		});
	}

	@Test
	void propertiesBindFromTheHangupPrefix() {
		this.runner
			.withPropertyValues("hangup.client.response-timeout=5s", "hangup.server.status.upstream-timeout=503",
					"hangup.server.status.upstream-reset=500", "hangup.server.status.upstream-unreachable=503",
					"hangup.metrics.max-upstream-tags=7")
			.run((context) -> {
				HangupProperties properties = context.getBean(HangupProperties.class);
				assertThat(properties.getClient().getResponseTimeout()).isEqualTo(Duration.ofSeconds(5));
				assertThat(properties.getServer().getStatus().getUpstreamTimeout()).isEqualTo(503);
				assertThat(properties.getServer().getStatus().getUpstreamReset()).isEqualTo(500);
				assertThat(properties.getServer().getStatus().getUpstreamUnreachable()).isEqualTo(503);
				assertThat(properties.getMetrics().getMaxUpstreamTags()).isEqualTo(7);
			});
	}

	@Test
	void zeroResponseTimeoutIsAccepted() {
		this.runner.withPropertyValues("hangup.client.response-timeout=0")
			.run((context) -> assertThat(context.getBean(HangupProperties.class).getClient().getResponseTimeout())
				.isZero());
	}

	@Test
	void negativeResponseTimeoutFailsStartupNamingTheProperty() {
		assertStartupFailsNaming("hangup.client.response-timeout=-1s", "hangup.client.response-timeout");
	}

	@Test
	void upstreamTimeoutStatusBelow100FailsStartupNamingTheProperty() {
		assertStartupFailsNaming("hangup.server.status.upstream-timeout=99", "hangup.server.status.upstream-timeout");
	}

	@ParameterizedTest(name = "{0}")
	@ValueSource(strings = { "101", "204", "304", "399" })
	void upstreamTimeoutStatusThatIsNoErrorFailsStartupNamingTheProperty(String status) {
		assertStartupFailsNaming("hangup.server.status.upstream-timeout=" + status,
				"hangup.server.status.upstream-timeout");
	}

	@Test
	void responseTimeoutLongerThanADayFailsStartupNamingTheProperty() {
		assertStartupFailsNaming("hangup.client.response-timeout=110000d", "hangup.client.response-timeout");
	}

	@Test
	void eventCapacityAboveItsMaximumFailsStartupNamingTheProperty() {
		assertStartupFailsNaming("hangup.events.capacity=2147483647", "hangup.events.capacity");
	}

	@Test
	void boundsThemselvesAreAccepted() {
		this.runner
			.withPropertyValues("hangup.client.response-timeout=1d", "hangup.events.capacity=10000",
					"hangup.server.status.upstream-timeout=400", "hangup.server.status.upstream-reset=599")
			.run((context) -> assertThat(context).hasNotFailed());
	}

	@Test
	void upstreamTimeoutStatusAbove599FailsStartupNamingTheProperty() {
		assertStartupFailsNaming("hangup.server.status.upstream-timeout=600", "hangup.server.status.upstream-timeout");
	}

	@Test
	void upstreamResetStatusOutOfRangeFailsStartupNamingTheProperty() {
		assertStartupFailsNaming("hangup.server.status.upstream-reset=0", "hangup.server.status.upstream-reset");
	}

	@Test
	void upstreamUnreachableStatusOutOfRangeFailsStartupNamingTheProperty() {
		assertStartupFailsNaming("hangup.server.status.upstream-unreachable=1000",
				"hangup.server.status.upstream-unreachable");
	}

	@Test
	void zeroMaxUpstreamTagsFailsStartupNamingTheProperty() {
		assertStartupFailsNaming("hangup.metrics.max-upstream-tags=0", "hangup.metrics.max-upstream-tags");
	}

	@Test
	void autoConfigurationImportsListEveryAutoConfiguration() {
		List<String> ours = new ArrayList<>();
		for (String candidate : ImportCandidates.load(AutoConfiguration.class, getClass().getClassLoader())) {
			if (candidate.startsWith("io.github.hangup.")) {
				ours.add(candidate);
			}
		}
		assertThat(ours).containsExactlyInAnyOrder(HangupAutoConfiguration.class.getName(),
				HangupClientAutoConfiguration.class.getName(), HangupServerAutoConfiguration.class.getName(),
				HangupMetricsAutoConfiguration.class.getName(), HangupObservationAutoConfiguration.class.getName(),
				HangupEndpointAutoConfiguration.class.getName(), HangupServletAutoConfiguration.class.getName(),
				HangupRestClientAutoConfiguration.class.getName(),
				// By name: these tests run without Spring Cloud Gateway, its condition.
				"io.github.hangup.autoconfigure.HangupGatewayAutoConfiguration");
	}

	@Test
	void configurationMetadataDescribesEveryDocumentedProperty() throws Exception {
		JsonNode metadata;
		try (InputStream in = HangupProperties.class
			.getResourceAsStream("/META-INF/spring-configuration-metadata.json")) {
			assertThat(in).as("generated configuration metadata").isNotNull();
			metadata = JsonMapper.builder().build().readTree(in);
		}
		List<String> names = new ArrayList<>();
		for (JsonNode property : metadata.get("properties")) {
			String name = property.get("name").asString();
			names.add(name);
			if (name.startsWith("hangup.")) {
				assertThat(property.path("description").asString()).as("description of %s", name).isNotBlank();
			}
		}
		assertThat(names).contains("hangup.enabled", "hangup.client.response-timeout",
				"hangup.server.status.upstream-timeout", "hangup.server.status.upstream-reset",
				"hangup.server.status.upstream-unreachable", "hangup.metrics.max-upstream-tags",
				"hangup.client.propagation", "hangup.events.capacity", "hangup.observation.enabled",
				"hangup.observation.client-closed-status", "hangup.logging.level.client-cancel",
				"hangup.logging.level.upstream-timeout", "hangup.logging.level.upstream-reset",
				"hangup.logging.level.upstream-unreachable", "hangup.logging.quiet-reactor-netty",
				"hangup.logging.quiet-dropped-errors", "hangup.client.stream-idle-timeout",
				"hangup.client.streaming-media-types");
	}

	@Test
	void renamedPropagationKeyIsDeprecatedInTheMetadataAndPointsToItsNewName() throws Exception {
		JsonNode metadata;
		try (InputStream in = HangupProperties.class
			.getResourceAsStream("/META-INF/spring-configuration-metadata.json")) {
			metadata = JsonMapper.builder().build().readTree(in);
		}
		JsonNode old = null;
		for (JsonNode property : metadata.get("properties")) {
			if (property.get("name").asString().equals("hangup.propagation.mode")) {
				old = property;
			}
		}
		assertThat(old).as("hangup.propagation.mode in the metadata").isNotNull();
		assertThat(old.path("deprecated").asBoolean()).isTrue();
		assertThat(old.path("deprecation").path("replacement").asString()).isEqualTo("hangup.client.propagation");
	}

	@Test
	void propagationModeBindsFromItsNewKeyAndStillFromItsDeprecatedOne() {
		this.runner.withPropertyValues("hangup.client.propagation=chain")
			.run((context) -> assertThat(context.getBean(HangupProperties.class).propagationMode())
				.isEqualTo(PropagationMode.CHAIN));
		this.runner.withPropertyValues("hangup.propagation.mode=off")
			.run((context) -> assertThat(context.getBean(HangupProperties.class).propagationMode())
				.isEqualTo(PropagationMode.OFF));
		this.runner.withPropertyValues("hangup.propagation.mode=off", "hangup.client.propagation=chain")
			.run((context) -> assertThat(context.getBean(HangupProperties.class).propagationMode())
				.isEqualTo(PropagationMode.CHAIN));
	}

	@Test
	void unknownPropagationModeUnderItsNewKeyFailsStartupNamingTheProperty() {
		assertStartupFailsNaming("hangup.client.propagation=SOMETIMES", "hangup.client.propagation");
	}

	@Test
	void negativeEventCapacityFailsStartupNamingTheProperty() {
		assertStartupFailsNaming("hangup.events.capacity=-1", "hangup.events.capacity");
	}

	@Test
	void clientClosedStatusOutsideHttpRangeFailsStartupNamingTheProperty() {
		assertStartupFailsNaming("hangup.observation.client-closed-status=1000",
				"hangup.observation.client-closed-status");
	}

	@Test
	void unknownPropagationModeFailsStartupNamingTheProperty() {
		assertStartupFailsNaming("hangup.propagation.mode=SOMETIMES", "hangup.propagation.mode");
	}

	private void assertStartupFailsNaming(String property, String name) {
		this.runner.withPropertyValues(property).run((context) -> {
			assertThat(context).hasFailed();
			assertThat(messages(context)).contains(name);
		});
	}

	private static String messages(AssertableApplicationContext context) {
		StringBuilder messages = new StringBuilder();
		for (Throwable t = context.getStartupFailure(); t != null; t = (t.getCause() != t) ? t.getCause() : null) {
			messages.append(t.getMessage()).append('\n');
		}
		return messages.toString();
	}

	private static HangupEvent event() {
		return HangupEvent.outbound(HangupKind.UPSTREAM_RESET, HangupPhase.BEFORE_RESPONSE, "GET", Duration.ofMillis(5))
			.upstream("example.org:80")
			.build();
	}

	@Configuration(proxyBeanMethods = false)
	static class UserClassifierConfiguration {

		@Bean
		HangupClassifier userClassifier() {
			return (error, side) -> null;
		}

	}

	/**
	 * A recorder built with a listener of its own, next to a listener bean.
	 */
	@Configuration(proxyBeanMethods = false)
	static class UserRecorderConfiguration {

		@Bean
		CallLog callLog() {
			return new CallLog();
		}

		@Bean
		HangupListener bean(CallLog log) {
			return (event) -> log.add("bean", event);
		}

		@Bean
		HangupRecorder userRecorder(CallLog log) {
			return HangupRecorder.of((event) -> log.add("own", event));
		}

	}

	@Configuration(proxyBeanMethods = false)
	static class UserLoggingListenerConfiguration {

		@Bean
		LoggingHangupListener userLoggingListener() {
			return new LoggingHangupListener();
		}

	}

	/**
	 * Two listeners declared in reverse order, so that only {@code @Order} puts them
	 * right.
	 */
	@Configuration(proxyBeanMethods = false)
	static class CollectingListenersConfiguration {

		@Bean
		CallLog callLog() {
			return new CallLog();
		}

		@Bean
		@Order(2)
		HangupListener second(CallLog log) {
			return (event) -> log.add("second", event);
		}

		@Bean
		@Order(1)
		HangupListener first(CallLog log) {
			return (event) -> log.add("first", event);
		}

	}

	@Configuration(proxyBeanMethods = false)
	static class FailingListenerConfiguration {

		@Bean
		CallLog callLog() {
			return new CallLog();
		}

		@Bean
		@Order(1)
		HangupListener failing() {
			return (event) -> {
				throw new IllegalStateException("listener failure");
			};
		}

		@Bean
		@Order(2)
		HangupListener second(CallLog log) {
			return (event) -> log.add("second", event);
		}

	}

	static class CallLog {

		final List<String> names = new CopyOnWriteArrayList<>();

		final List<HangupEvent> events = new CopyOnWriteArrayList<>();

		void add(String name, HangupEvent event) {
			this.names.add(name);
			this.events.add(event);
		}

	}

}
