package io.github.hangup.autoconfigure;

import io.github.hangup.HangupClassifier;
import io.github.hangup.HangupRecorder;
import io.github.hangup.client.OutboundCalls;
import io.github.hangup.gateway.HangupGatewayFilter;
import io.github.hangup.gateway.HangupGatewayResponseFilter;
import io.github.hangup.gateway.HangupHttpClientCustomizer;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.cloud.gateway.config.HttpClientCustomizer;
import org.springframework.cloud.gateway.filter.NettyRoutingFilter;
import org.springframework.context.annotation.Bean;

/**
 * Makes the calls of Spring Cloud Gateway's {@link NettyRoutingFilter}, which uses
 * Reactor Netty's {@code HttpClient} rather than a {@code WebClient}, outbound calls of
 * Hangup: two global filters around Gateway's routing and response writing, and a
 * customizer of its {@code HttpClient}. Only where Gateway routes with Netty.
 *
 * @since 0.2.0
 */
@AutoConfiguration(after = { HangupAutoConfiguration.class, HangupServerAutoConfiguration.class },
		afterName = "org.springframework.cloud.gateway.config.GatewayAutoConfiguration")
@ConditionalOnClass({ NettyRoutingFilter.class, HttpClientCustomizer.class })
@ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.REACTIVE)
@ConditionalOnBooleanProperty(name = "hangup.enabled", matchIfMissing = true)
@ConditionalOnBean(NettyRoutingFilter.class)
public final class HangupGatewayAutoConfiguration {

	@Bean
	@ConditionalOnMissingBean
	HangupGatewayFilter hangupGatewayFilter(HangupClassifier classifier, HangupRecorder recorder,
			HangupProperties properties, OutboundCalls calls) {
		return new HangupGatewayFilter(classifier, recorder, properties.propagationMode(), calls,
				properties.getClient().isRetryStaleConnections());
	}

	@Bean
	static GatewayPoolIdleTime hangupGatewayPoolIdleTime(ObjectProvider<HangupProperties> properties) {
		return new GatewayPoolIdleTime(properties);
	}

	@Bean
	@ConditionalOnMissingBean
	HangupGatewayResponseFilter hangupGatewayResponseFilter() {
		return new HangupGatewayResponseFilter();
	}

	@Bean
	HangupHttpClientCustomizer hangupHttpClientCustomizer() {
		return new HangupHttpClientCustomizer();
	}

}
