package io.github.hangup.support;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import io.micrometer.core.instrument.MeterRegistry;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import org.springframework.context.ConfigurableApplicationContext;

/**
 * A Spring MVC application around one controller, in front of a {@link FaultyUpstream} of
 * its own, for a test class that registers it as a static extension: started before the
 * class's tests (again for a subclass that runs them on another container), its meters
 * cleared before each test, closed after them. The controller finds the upstream's base
 * URL in the {@code test.upstream} property; the application's {@code RestClient} and
 * {@code RestTemplate} use the JDK {@code HttpClient} unless the properties say
 * otherwise.
 */
public final class ServletRelay implements BeforeAllCallback, AfterAllCallback, BeforeEachCallback {

	private final Class<?> controller;

	private final String[] properties;

	private volatile ProxyUnderTest proxy;

	private ServletRelay(Class<?> controller, String[] properties) {
		this.controller = controller;
		this.properties = properties;
	}

	/**
	 * The relay of a test class.
	 * @param controller the controller class, registered as a bean
	 * @param properties extra properties, as {@code key=value}
	 * @return the relay, started by JUnit
	 */
	public static ServletRelay of(Class<?> controller, String... properties) {
		return new ServletRelay(controller, properties);
	}

	@Override
	public void beforeAll(ExtensionContext context) throws Exception {
		List<String> all = new ArrayList<>(List.of("spring.http.clients.imperative.factory=jdk"));
		all.addAll(Arrays.asList(this.properties));
		this.proxy = ProxyUnderTest.start(this.controller, ServletTestApps::start, all.toArray(String[]::new));
	}

	@Override
	public void beforeEach(ExtensionContext context) {
		registry().clear();
	}

	@Override
	public void afterAll(ExtensionContext context) throws Exception {
		this.proxy.close();
	}

	public FaultyUpstream upstream() {
		return this.proxy.upstream();
	}

	public ConfigurableApplicationContext app() {
		return this.proxy.proxy();
	}

	public MeterRegistry registry() {
		return this.proxy.registry();
	}

	public int port() {
		return this.proxy.port();
	}

}
