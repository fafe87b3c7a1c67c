package io.github.hangup.bench.gateway;

import io.github.hangup.bench.app.BenchApplication;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.context.annotation.Bean;
import org.springframework.web.reactive.function.server.RouterFunction;
import org.springframework.web.reactive.function.server.RouterFunctions;
import org.springframework.web.reactive.function.server.ServerResponse;

/**
 * A Spring Cloud Gateway application on the starter, for the soak's Gateway mode: its
 * routes come from properties, as a Gateway user writes them, given by the soak on the
 * command line. Run with Gateway on the class path (bench/build.sh's
 * {@code BENCH_GATEWAY_CP}); it has only the heap probe of its own:
 * <ul>
 * <li>{@code GET /bench/heap}: runs a full GC and answers the heap in use, in bytes.</li>
 * </ul>
 */
@SpringBootApplication
public class GatewayBenchApplication {

	public static void main(String[] args) {
		SpringApplication.run(GatewayBenchApplication.class, args);
	}

	// A router function is mapped before Gateway's routes, as the actuator's endpoints
	// are.
	@Bean
	RouterFunction<ServerResponse> benchRoutes() {
		return RouterFunctions.route()
			.GET("/bench/heap",
					(request) -> ServerResponse.ok().bodyValue(Long.toString(BenchApplication.heapAfterGc())))
			.build();
	}

}
