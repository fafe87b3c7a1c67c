package io.github.hangup.autoconfigure;

import java.time.Duration;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.config.BeanPostProcessor;
import org.springframework.cloud.gateway.config.HttpClientProperties;

/**
 * Gives Gateway's connection pool an idle limit when its user set none
 * ({@code spring.cloud.gateway.server.webflux.httpclient.pool.max-idle-time}): Hangup's
 * own, {@code hangup.client.max-idle-time}, so that Gateway's pooled connections are
 * closed before an upstream or a load balancer drops them, as WebClient's are. A limit
 * the user set, in Gateway's property, stays; {@code hangup.client.max-idle-time=0} sets
 * none.
 */
final class GatewayPoolIdleTime implements BeanPostProcessor {

	// Resolved when Gateway's properties are ready, not when this post-processor is
	// created.
	private final ObjectProvider<HangupProperties> properties;

	GatewayPoolIdleTime(ObjectProvider<HangupProperties> properties) {
		this.properties = properties;
	}

	@Override
	public Object postProcessAfterInitialization(Object bean, String beanName) {
		if (bean instanceof HttpClientProperties gateway && gateway.getPool().getMaxIdleTime() == null) {
			Duration ours = this.properties.getObject().getClient().getMaxIdleTime();
			if (!ours.isZero()) {
				gateway.getPool().setMaxIdleTime(ours);
			}
		}
		return bean;
	}

}
