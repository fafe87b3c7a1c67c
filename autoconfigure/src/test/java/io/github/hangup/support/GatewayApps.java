package io.github.hangup.support;

import java.util.ArrayList;
import java.util.List;

import org.springframework.boot.SpringBootVersion;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * Starts a real Spring Cloud Gateway application (routes from properties) in front of a
 * {@link FaultyUpstream}, as an application adding the starter to its gateway would run.
 */
public final class GatewayApps {

	/**
	 * Gateway 5.0 is made for Boot 4.0: on 4.1 Spring Cloud's verifier must be off, as
	 * the README says; on 4.0, the line it is made for, it stays on and passes.
	 */
	public static final String COMPATIBILITY = "spring.cloud.compatibility-verifier.enabled="
			+ SpringBootVersion.getVersion().startsWith("4.0.");

	private GatewayApps() {
	}

	/**
	 * Start a gateway with the given routes and properties.
	 * @param extra a configuration class registered as a bean (test filters), or
	 * {@code Object.class}
	 * @param routes the routes, each
	 * {@code id|uri|predicate|filter,filter|metadata-timeout} where empty fields are left
	 * out
	 * @param properties extra properties, as {@code key=value}
	 * @return the running context
	 */
	public static ConfigurableApplicationContext start(Class<?> extra, List<String> routes, String... properties) {
		List<String> all = new ArrayList<>();
		all.add(COMPATIBILITY);
		for (int i = 0; i < routes.size(); i++) {
			String[] fields = routes.get(i).split("\\|", -1);
			String prefix = "spring.cloud.gateway.server.webflux.routes[" + i + "].";
			all.add(prefix + "id=" + fields[0]);
			all.add(prefix + "uri=" + fields[1]);
			all.add(prefix + "predicates[0]=" + fields[2]);
			if (fields.length > 3 && !fields[3].isEmpty()) {
				String[] filters = fields[3].split(",");
				for (int f = 0; f < filters.length; f++) {
					all.add(prefix + "filters[" + f + "]=" + filters[f]);
				}
			}
			if (fields.length > 4 && !fields[4].isEmpty()) {
				all.add(prefix + "metadata.response-timeout=" + fields[4]);
			}
		}
		all.addAll(List.of(properties));
		return TestApps.start(extra, all.toArray(String[]::new));
	}

}
