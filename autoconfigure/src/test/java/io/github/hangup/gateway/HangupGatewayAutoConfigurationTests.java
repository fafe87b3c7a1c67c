package io.github.hangup.gateway;

import java.time.Duration;

import io.github.hangup.autoconfigure.HangupAutoConfiguration;
import io.github.hangup.autoconfigure.HangupClientAutoConfiguration;
import io.github.hangup.autoconfigure.HangupGatewayAutoConfiguration;
import io.github.hangup.autoconfigure.HangupServerAutoConfiguration;
import io.github.hangup.client.HangupExchangeFilterFunction;
import io.github.hangup.client.OutboundCalls;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.test.context.runner.ReactiveWebApplicationContextRunner;
import org.springframework.cloud.gateway.config.HttpClientCustomizer;
import org.springframework.cloud.gateway.filter.NettyRoutingFilter;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tests for {@link HangupGatewayAutoConfiguration}. Its configurations live in
 * {@link RoutingConfigurations}: a test class of this package must not name Gateway's
 * types in its own or its nested classes' signatures, since the other tests' execution,
 * which runs without Gateway, loads it when {@code -Dtest} selects it (then skips it by
 * its tag).
 */
@Tag("gateway")
class HangupGatewayAutoConfigurationTests {

	private final ReactiveWebApplicationContextRunner runner = new ReactiveWebApplicationContextRunner()
		.withConfiguration(AutoConfigurations.of(HangupAutoConfiguration.class, HangupServerAutoConfiguration.class,
				HangupGatewayAutoConfiguration.class));

	@Test
	void filtersAndHttpClientCustomizerArePresentWhereGatewayRoutesWithNetty() {
		this.runner.withUserConfiguration(RoutingConfigurations.NettyRouting.class)
			.run((context) -> assertThat(context).hasSingleBean(HangupGatewayFilter.class)
				.hasSingleBean(HangupGatewayResponseFilter.class)
				.hasSingleBean(HangupHttpClientCustomizer.class));
	}

	@Test
	void proxiedCallsCountAmongTheOutboundCallsInFlightWithWebClientCalls() {
		this.runner.withUserConfiguration(RoutingConfigurations.NettyRouting.class)
			.withConfiguration(AutoConfigurations.of(HangupClientAutoConfiguration.class))
			.run((context) -> {
				OutboundCalls calls = context.getBean(OutboundCalls.class);
				HangupGatewayFilter gateway = context.getBean(HangupGatewayFilter.class);
				HangupExchangeFilterFunction client = context.getBean(HangupExchangeFilterFunction.class);
				// One counter, shared: what the gauge of calls in flight reads.
				assertThat(gateway).extracting("calls").isSameAs(calls);
				assertThat(client).extracting("calls").isSameAs(calls);
			});
	}

	@Test
	void gatewaysPoolGetsHangupsIdleLimitWhenItsUserSetNone() {
		this.runner
			.withUserConfiguration(RoutingConfigurations.NettyRouting.class, RoutingConfigurations.GatewayPool.class)
			.run((context) -> assertThat(RoutingConfigurations.GatewayPool.maxIdleTime(context))
				.isEqualTo(Duration.ofSeconds(20)));
	}

	@Test
	void gatewaysPoolFollowsHangupsIdleLimit() {
		this.runner
			.withUserConfiguration(RoutingConfigurations.NettyRouting.class, RoutingConfigurations.GatewayPool.class)
			.withPropertyValues("hangup.client.max-idle-time=7s")
			.run((context) -> assertThat(RoutingConfigurations.GatewayPool.maxIdleTime(context))
				.isEqualTo(Duration.ofSeconds(7)));
	}

	@Test
	void anIdleLimitSetForGatewaysPoolStays() {
		this.runner
			.withUserConfiguration(RoutingConfigurations.NettyRouting.class, RoutingConfigurations.GatewayPool.class)
			.withPropertyValues("spring.cloud.gateway.server.webflux.httpclient.pool.max-idle-time=45s")
			.run((context) -> assertThat(RoutingConfigurations.GatewayPool.maxIdleTime(context))
				.isEqualTo(Duration.ofSeconds(45)));
	}

	@Test
	void noIdleLimitOfHangupsLeavesGatewaysPoolAsItIs() {
		this.runner
			.withUserConfiguration(RoutingConfigurations.NettyRouting.class, RoutingConfigurations.GatewayPool.class)
			.withPropertyValues("hangup.client.max-idle-time=0")
			.run((context) -> assertThat(RoutingConfigurations.GatewayPool.maxIdleTime(context)).isNull());
	}

	@Test
	void backsOffWithoutSpringCloudGateway() {
		this.runner.withUserConfiguration(RoutingConfigurations.NettyRouting.class)
			.withClassLoader(new FilteredClassLoader(NettyRoutingFilter.class))
			.run((context) -> assertThat(context).doesNotHaveBean(HangupGatewayFilter.class)
				.doesNotHaveBean(HangupGatewayResponseFilter.class)
				.doesNotHaveBean(HttpClientCustomizer.class));
	}

	@Test
	void backsOffWithoutGatewaysHttpClientCustomizer() {
		this.runner.withUserConfiguration(RoutingConfigurations.NettyRouting.class)
			.withClassLoader(new FilteredClassLoader(HttpClientCustomizer.class))
			.run((context) -> assertThat(context).doesNotHaveBean(HangupGatewayFilter.class)
				.doesNotHaveBean(HangupGatewayResponseFilter.class));
	}

	@Test
	void backsOffWhereGatewayDoesNotRouteWithNetty() {
		this.runner.run((context) -> assertThat(context).doesNotHaveBean(HangupGatewayFilter.class)
			.doesNotHaveBean(HangupGatewayResponseFilter.class)
			.doesNotHaveBean(HttpClientCustomizer.class));
	}

	@Test
	void backsOffWhenHangupIsDisabled() {
		this.runner.withUserConfiguration(RoutingConfigurations.NettyRouting.class)
			.withPropertyValues("hangup.enabled=false")
			.run((context) -> assertThat(context).doesNotHaveBean(HangupGatewayFilter.class)
				.doesNotHaveBean(HangupGatewayResponseFilter.class)
				.doesNotHaveBean(HttpClientCustomizer.class));
	}

	@Test
	void backsOffOutsideReactiveWebApplications() {
		new ApplicationContextRunner()
			.withConfiguration(
					AutoConfigurations.of(HangupAutoConfiguration.class, HangupGatewayAutoConfiguration.class))
			.withUserConfiguration(RoutingConfigurations.NettyRouting.class)
			.run((context) -> assertThat(context).doesNotHaveBean(HangupGatewayFilter.class));
	}

	@Test
	void userGatewayFilterReplacesTheDefaultOne() {
		this.runner
			.withUserConfiguration(RoutingConfigurations.NettyRouting.class,
					RoutingConfigurations.UserGatewayFilter.class)
			.run((context) -> {
				assertThat(context).hasSingleBean(HangupGatewayFilter.class);
				assertThat(context.getBean(HangupGatewayFilter.class)).isSameAs(context.getBean("userGatewayFilter"));
			});
	}

	@Test
	void userGatewayResponseFilterReplacesTheDefaultOne() {
		this.runner
			.withUserConfiguration(RoutingConfigurations.NettyRouting.class,
					RoutingConfigurations.UserGatewayResponseFilter.class)
			.run((context) -> {
				assertThat(context).hasSingleBean(HangupGatewayResponseFilter.class);
				assertThat(context.getBean(HangupGatewayResponseFilter.class))
					.isSameAs(context.getBean("userGatewayResponseFilter"));
			});
	}

	@Test
	void filtersSitRightBeforeGatewaysRoutingAndResponseWriting() {
		assertThat(new HangupGatewayResponseFilter().getOrder()).isEqualTo(
				org.springframework.cloud.gateway.filter.NettyWriteResponseFilter.WRITE_RESPONSE_FILTER_ORDER - 1);
		this.runner.withUserConfiguration(RoutingConfigurations.NettyRouting.class)
			.run((context) -> assertThat(context.getBean(HangupGatewayFilter.class).getOrder())
				.isEqualTo(NettyRoutingFilter.ORDER - 1));
	}

}
