package io.github.hangup.gateway;

import java.util.List;

import io.github.hangup.HangupRecorder;
import io.github.hangup.client.PropagationMode;
import reactor.netty.http.client.HttpClient;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.cloud.gateway.config.HttpClientProperties;
import org.springframework.cloud.gateway.filter.NettyRoutingFilter;
import org.springframework.cloud.gateway.filter.headers.HttpHeadersFilter;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Configurations of {@link HangupGatewayAutoConfigurationTests}, outside the test class so that
 * only the gateway tests' execution loads Gateway's types.
 */
final class RoutingConfigurations {

	private RoutingConfigurations() {
	}

	@Configuration(proxyBeanMethods = false)
	static class NettyRouting {

		@Bean
		NettyRoutingFilter routingFilter(ObjectProvider<List<HttpHeadersFilter>> headersFilters) {
			return new NettyRoutingFilter(HttpClient.create(), headersFilters, new HttpClientProperties());
		}

	}

	@Configuration(proxyBeanMethods = false)
	static class UserGatewayFilter {

		@Bean
		HangupGatewayFilter userGatewayFilter() {
			return new HangupGatewayFilter((error, side) -> null, HangupRecorder.of(),
					PropagationMode.CHAIN);
		}

	}

	@Configuration(proxyBeanMethods = false)
	static class UserGatewayResponseFilter {

		@Bean
		HangupGatewayResponseFilter userGatewayResponseFilter() {
			return new HangupGatewayResponseFilter();
		}

	}

}
