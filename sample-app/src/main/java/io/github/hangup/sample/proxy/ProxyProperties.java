package io.github.hangup.sample.proxy;

import java.net.URI;
import java.util.LinkedHashMap;
import java.util.Map;

import org.jspecify.annotations.Nullable;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.util.StringUtils;
import org.springframework.validation.Errors;
import org.springframework.validation.Validator;

/**
 * Upstreams of the sample proxy. Validates itself at start-up so that a bad URI fails
 * fast with the name of the offending property.
 *
 * @since 0.1.0
 */
@ConfigurationProperties("sample")
public class ProxyProperties implements Validator {

	/**
	 * Upstream that receives every request no route matches. When unset, an embedded demo
	 * upstream is started and used instead.
	 */
	private @Nullable URI upstreamUrl;

	/**
	 * Routes by name, each sending the requests under its path prefix to its own
	 * upstream.
	 */
	private final Map<String, Route> routes = new LinkedHashMap<>();

	public @Nullable URI getUpstreamUrl() {
		return this.upstreamUrl;
	}

	public void setUpstreamUrl(@Nullable URI upstreamUrl) {
		this.upstreamUrl = upstreamUrl;
	}

	public Map<String, Route> getRoutes() {
		return this.routes;
	}

	@Override
	public boolean supports(Class<?> type) {
		return ProxyProperties.class.isAssignableFrom(type);
	}

	@Override
	public void validate(Object target, Errors errors) {
		// Fields are named as the properties are written, so that errors name them that
		// way.
		ProxyProperties properties = (ProxyProperties) target;
		if (properties.upstreamUrl != null) {
			validateUpstream(properties.upstreamUrl, "upstream-url", errors);
		}
		properties.routes.forEach((name, route) -> {
			String field = "routes." + name + ".";
			if (!StringUtils.hasText(route.prefix)) {
				errors.rejectValue(field + "prefix", "required", "must not be empty");
			}
			else if (!route.prefix.startsWith("/")) {
				errors.rejectValue(field + "prefix", "invalid", "must start with '/'");
			}
			else if (route.prefix.chars().anyMatch((c) -> c == '{' || c == '}' || c == '*' || c == '?')) {
				// The prefix becomes a route pattern: pattern syntax would fail far from
				// here.
				errors.rejectValue(field + "prefix", "invalid", "must be a literal path, without '{', '}', '*' or '?'");
			}
			if (route.uri == null) {
				errors.rejectValue(field + "uri", "required", "must not be empty");
			}
			else {
				validateUpstream(route.uri, field + "uri", errors);
			}
		});
	}

	private static void validateUpstream(URI uri, String field, Errors errors) {
		String scheme = uri.getScheme();
		if (!"http".equalsIgnoreCase(scheme) && !"https".equalsIgnoreCase(scheme)) {
			errors.rejectValue(field, "invalid", "must be an absolute http or https URI");
		}
		else if (uri.getHost() == null) {
			errors.rejectValue(field, "invalid", "must name a host");
		}
		else if (uri.getRawQuery() != null || uri.getRawFragment() != null) {
			errors.rejectValue(field, "invalid", "must not have a query or fragment");
		}
	}

	/**
	 * Route to one upstream, chosen by request path prefix.
	 */
	public static final class Route {

		/**
		 * Path prefix, such as /api, that selects this route. Matches whole path
		 * segments; the longest matching prefix wins and the path is forwarded unchanged.
		 */
		private @Nullable String prefix;

		/**
		 * Upstream that receives the requests under the prefix.
		 */
		private @Nullable URI uri;

		public @Nullable String getPrefix() {
			return this.prefix;
		}

		public void setPrefix(@Nullable String prefix) {
			this.prefix = prefix;
		}

		public @Nullable URI getUri() {
			return this.uri;
		}

		public void setUri(@Nullable URI uri) {
			this.uri = uri;
		}

	}

}
