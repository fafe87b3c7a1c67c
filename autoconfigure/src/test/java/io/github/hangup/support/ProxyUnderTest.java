package io.github.hangup.support;

import java.util.function.BiFunction;

import io.micrometer.core.instrument.MeterRegistry;

import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.core.env.Environment;
import org.springframework.web.reactive.function.client.WebClient;

/**
 * A fault-injecting upstream and a real application proxying to it, started together and
 * closed together.
 */
public final class ProxyUnderTest implements AutoCloseable {

	private final FaultyUpstream upstream;

	private final ConfigurableApplicationContext proxy;

	private ProxyUnderTest(FaultyUpstream upstream, ConfigurableApplicationContext proxy) {
		this.upstream = upstream;
		this.proxy = proxy;
	}

	/**
	 * Start an upstream and an application serving the controller, which finds the
	 * upstream's base URL in the {@code test.upstream} property.
	 */
	public static ProxyUnderTest start(Class<?> controller, String... properties) throws Exception {
		return start(controller, TestApps::start, properties);
	}

	/**
	 * Start an upstream and an application serving the controller, with the given starter
	 * of applications (reactive or servlet).
	 */
	static ProxyUnderTest start(Class<?> controller,
			BiFunction<Class<?>, String[], ConfigurableApplicationContext> applications, String... properties)
			throws Exception {
		FaultyUpstream upstream = new FaultyUpstream();
		String[] all = new String[properties.length + 1];
		System.arraycopy(properties, 0, all, 0, properties.length);
		all[properties.length] = "test.upstream=" + upstream.baseUrl();
		try {
			return new ProxyUnderTest(upstream, applications.apply(controller, all));
		}
		catch (RuntimeException ex) {
			upstream.close();
			throw ex;
		}
	}

	/** A WebClient for the upstream, built from the application's builder. */
	public static WebClient upstreamClient(WebClient.Builder builder, Environment environment) {
		return builder.clone().baseUrl(environment.getRequiredProperty("test.upstream")).build();
	}

	public FaultyUpstream upstream() {
		return this.upstream;
	}

	public ConfigurableApplicationContext proxy() {
		return this.proxy;
	}

	public MeterRegistry registry() {
		return this.proxy.getBean(MeterRegistry.class);
	}

	public int port() {
		return TestApps.port(this.proxy);
	}

	/** The {@code upstream} tag of calls to the upstream. */
	public String upstreamTag() {
		return "upstream=127.0.0.1:" + this.upstream.port();
	}

	@Override
	public void close() throws Exception {
		this.proxy.close();
		this.upstream.close();
	}

}
