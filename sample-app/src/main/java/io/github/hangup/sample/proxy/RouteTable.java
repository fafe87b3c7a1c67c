package io.github.hangup.sample.proxy;

import java.net.URI;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * Picks the upstream for a request path: the route with the longest matching prefix, or
 * the default upstream when none matches.
 */
final class RouteTable {

	private final List<Entry> entries;

	private final Supplier<URI> defaultUpstream;

	/**
	 * Creates a table of validated routes.
	 * @param routes the routes, each with a prefix and a URI
	 * @param defaultUpstream supplies the upstream for paths no route matches; asked on
	 * each request because the embedded demo upstream only knows its port once started
	 */
	RouteTable(Collection<ProxyProperties.Route> routes, Supplier<URI> defaultUpstream) {
		this.entries = routes.stream()
			.map((route) -> new Entry(Objects.requireNonNull(route.getPrefix()),
					Objects.requireNonNull(route.getUri())))
			.sorted(Comparator.comparingInt((Entry entry) -> entry.prefix().length()).reversed())
			.toList();
		this.defaultUpstream = defaultUpstream;
	}

	/**
	 * Returns where to send a request: its upstream followed by its raw path and query,
	 * byte for byte, so that percent-encoding is never decoded or applied twice.
	 * @param request the URI of the incoming request
	 * @return the URI of the upstream request
	 */
	URI target(URI request) {
		URI upstream = upstreamFor(request.getRawPath());
		StringBuilder target = new StringBuilder().append(upstream.getScheme())
			.append("://")
			.append(upstream.getRawAuthority());
		String basePath = upstream.getRawPath();
		if (basePath != null && !basePath.isEmpty()) {
			target.append(basePath.endsWith("/") ? basePath.substring(0, basePath.length() - 1) : basePath);
		}
		target.append(request.getRawPath());
		if (request.getRawQuery() != null) {
			target.append('?').append(request.getRawQuery());
		}
		return URI.create(target.toString());
	}

	/**
	 * Returns one path pattern per route, longest prefix first, then the catch-all
	 * {@code /**}: a handler mapped to each lets metrics tag a request with its route
	 * ({@code uri="/catalog/**"}) rather than {@code UNKNOWN}, while this table still
	 * picks the upstream.
	 * @return the patterns
	 */
	List<String> pathPatterns() {
		Stream<String> routes = this.entries.stream().map((entry) -> {
			String prefix = entry.prefix();
			return (prefix.endsWith("/") ? prefix.substring(0, prefix.length() - 1) : prefix) + "/**";
		});
		return Stream.concat(routes, Stream.of("/**")).toList();
	}

	private URI upstreamFor(String path) {
		for (Entry entry : this.entries) {
			if (entry.matches(path)) {
				return entry.uri();
			}
		}
		return this.defaultUpstream.get();
	}

	private record Entry(String prefix, URI uri) {

		// Whole segments only: /api matches /api and /api/items, but not /apiary.
		boolean matches(String path) {
			return path.startsWith(this.prefix) && (this.prefix.endsWith("/") || path.length() == this.prefix.length()
					|| path.charAt(this.prefix.length()) == '/');
		}

	}

}
