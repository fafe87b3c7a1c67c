package io.github.hangup.autoconfigure;

import java.time.Duration;
import java.util.Objects;
import java.util.function.BiFunction;

import org.jspecify.annotations.Nullable;

import io.github.hangup.client.blocking.RequestFactoryAborts;

import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.http.client.ClientHttpRequestFactoryBuilder;
import org.springframework.boot.http.client.HttpClientSettings;
import org.springframework.boot.http.client.autoconfigure.ClientHttpRequestFactoryBuilderCustomizer;
import org.springframework.core.env.Environment;
import org.springframework.http.client.ClientHttpRequestFactory;

/**
 * Gives the request factories that Boot's auto-configured
 * {@code ClientHttpRequestFactoryBuilder} builds for {@code RestClient} and
 * {@code RestTemplate} the response timeout WebClient calls get, as their read timeout:
 * Hangup's own when set ({@code 0} for none), else Boot's
 * {@code spring.http.clients.read-timeout}. When neither is set, the factories keep no
 * read timeout, as Boot builds them, and Hangup limits the wait for a response head to 30
 * seconds itself. A read timeout of another value than Boot's (one given to a
 * {@code RestTemplateBuilder}, a service group's own) stays.
 * <p>
 * The factories themselves time the call, so a timeout is classified as any other
 * {@code UPSTREAM_TIMEOUT}. Ordered last: the builder it returns builds with the settings
 * adjusted, and is no longer of the type a customizer after it could expect. It also
 * gives the factories' clients the hooks through which a stopped call aborts its exchange
 * ({@link RequestFactoryAborts}), and wraps each factory built so that its requests are
 * Hangup's outbound calls.
 */
final class RequestFactoryReadTimeout
		implements ClientHttpRequestFactoryBuilderCustomizer<ClientHttpRequestFactoryBuilder<?>> {

	/**
	 * As WebClient's: kept here so that an application without WebFlux loads nothing of
	 * it.
	 */
	private static final int DEFAULT_SECONDS = 30;

	private static final Duration DEFAULT = Duration.ofSeconds(DEFAULT_SECONDS);

	private final @Nullable Duration own;

	private final @Nullable Duration boot;

	private final BiFunction<ClientHttpRequestFactory, @Nullable Duration, ClientHttpRequestFactory> wrapper;

	/**
	 * @param own {@code hangup.client.response-timeout}, if set
	 * @param boot {@code spring.http.clients.read-timeout}, if set
	 */
	RequestFactoryReadTimeout(@Nullable Duration own, @Nullable Duration boot) {
		this(own, boot, (factory, headTimeout) -> factory);
	}

	private RequestFactoryReadTimeout(@Nullable Duration own, @Nullable Duration boot,
			BiFunction<ClientHttpRequestFactory, @Nullable Duration, ClientHttpRequestFactory> wrapper) {
		this.own = own;
		this.boot = boot;
		this.wrapper = wrapper;
	}

	/**
	 * The same, wrapping each factory built: last, so that the wrapper sees what the
	 * client library does. The wrapper gets the limit on the wait for a response head
	 * that Hangup itself keeps, when the factory has no read timeout.
	 */
	RequestFactoryReadTimeout wrappingWith(
			BiFunction<ClientHttpRequestFactory, @Nullable Duration, ClientHttpRequestFactory> wrapper) {
		return new RequestFactoryReadTimeout(this.own, this.boot, wrapper);
	}

	/**
	 * The read timeout rule of the request factories Boot builds, from Hangup's and
	 * Boot's settings.
	 */
	static RequestFactoryReadTimeout of(HangupProperties properties, Environment environment) {
		return new RequestFactoryReadTimeout(properties.getClient().getResponseTimeout(), bootReadTimeout(environment));
	}

	/** The read timeout those factories get when no client sets its own. */
	@Nullable Duration readTimeout() {
		return readTimeout(this.boot);
	}

	static @Nullable Duration bootReadTimeout(Environment environment) {
		// A compile-time constant: reading it loads nothing of WebClient's configuration.
		return Binder.get(environment)
			.bind(HangupClientAutoConfiguration.BOOT_READ_TIMEOUT, Duration.class)
			.orElse(null);
	}

	@Override
	public ClientHttpRequestFactoryBuilder<?> customize(ClientHttpRequestFactoryBuilder<?> builder) {
		// The hooks through which a stopped call aborts its exchange go in first, while
		// the builder is still of its own type.
		return new Adjusting<>(RequestFactoryAborts.apply(builder), this);
	}

	/**
	 * The read timeout to build with, given the one the settings carry.
	 * @param given the settings' read timeout, {@code null} for none
	 * @return the read timeout, {@code null} for none
	 */
	@Nullable Duration readTimeout(@Nullable Duration given) {
		if (given != null && !given.equals(this.boot)) {
			// Set for this client alone: the application chose it.
			return given;
		}
		Duration own = this.own;
		if (own != null) {
			return own.isZero() ? null : own;
		}
		// Nothing set: no read timeout, as Boot builds them. A read timeout is also the
		// longest silence of a body: a default one would cut quiet event streams that
		// work without Hangup. Hangup limits the wait for the head instead.
		return given;
	}

	/**
	 * The limit Hangup keeps itself on the wait for a response head, given the settings'
	 * read timeout: {@value #DEFAULT_SECONDS} seconds when nothing sets a timeout, none
	 * otherwise.
	 * @param given the settings' read timeout, {@code null} for none
	 * @return the limit, {@code null} for none
	 */
	@Nullable Duration headTimeout(@Nullable Duration given) {
		return (given == null && this.own == null) ? DEFAULT : null;
	}

	private record Adjusting<T extends ClientHttpRequestFactory>(ClientHttpRequestFactoryBuilder<T> delegate,
			RequestFactoryReadTimeout timeout) implements ClientHttpRequestFactoryBuilder<ClientHttpRequestFactory> {

		@Override
		public ClientHttpRequestFactory build(@Nullable HttpClientSettings settings) {
			HttpClientSettings given = Objects.requireNonNullElseGet(settings, HttpClientSettings::defaults);
			Duration readTimeout = this.timeout.readTimeout(given.readTimeout());
			return this.timeout.wrapper.apply(this.delegate.build(given.withReadTimeout(readTimeout)),
					this.timeout.headTimeout(given.readTimeout()));
		}

	}

}
