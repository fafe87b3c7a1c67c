package io.github.hangup.sample.proxy;

import java.net.URI;
import java.util.function.Supplier;

import io.github.hangup.sample.demo.DemoUpstream;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Wires what both stacks' proxies share: the properties and the route table.
 * {@link ReactiveProxyConfiguration} and {@link ServletProxyConfiguration} add the proxy
 * itself, whichever stack the application runs on.
 */
@Configuration(proxyBeanMethods = false)
@EnableConfigurationProperties(ProxyProperties.class)
class ProxyConfiguration {

	@Bean
	RouteTable routeTable(ProxyProperties properties, ObjectProvider<DemoUpstream> demoUpstream) {
		URI upstreamUrl = properties.getUpstreamUrl();
		Supplier<URI> defaultUpstream = (upstreamUrl != null) ? () -> upstreamUrl
				: () -> demoUpstream.getObject().getUri();
		return new RouteTable(properties.getRoutes().values(), defaultUpstream);
	}

}
