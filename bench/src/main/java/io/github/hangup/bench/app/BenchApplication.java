package io.github.hangup.bench.app;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import io.github.hangup.bench.harness.RawHttp;
import io.github.hangup.client.HangupClientAttributes;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Mono;
import reactor.netty.http.client.HttpClient;
import reactor.netty.resources.ConnectionProvider;

import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.context.annotation.Bean;
import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.http.HttpHeaders;
import org.springframework.http.client.reactive.ReactorClientHttpConnector;
import org.springframework.http.server.reactive.ServerHttpResponse;
import org.springframework.web.reactive.function.client.ClientResponse;
import org.springframework.web.reactive.function.client.WebClient;
import org.springframework.web.reactive.function.server.RequestPredicate;
import org.springframework.web.reactive.function.server.RequestPredicates;
import org.springframework.web.reactive.function.server.RouterFunction;
import org.springframework.web.reactive.function.server.RouterFunctions;
import org.springframework.web.reactive.function.server.ServerResponse;
import org.springframework.web.server.ServerWebExchange;

/**
 * Application on the starter used by the soak and the cancel benchmarks of calls outside
 * the chain: a streaming proxy like the sample's, routes that call their upstream outside
 * the request's chain, and knobs the sample has no reason to carry (pool metrics, a heap
 * probe).
 * <ul>
 * <li>{@code /refused/**}: proxied to {@code bench.refused-url};</li>
 * <li>{@code /detached/**}: starts a call to the upstream with {@code subscribe()} and
 * never answers, like a fire-and-forget call made from a handler;</li>
 * <li>{@code /blocked/**}: builds a call to the upstream and waits for it with
 * {@code block()} on a thread of its own, never answers; once {@code block()} returns or
 * throws, tells the upstream with what at {@code /released} (see
 * {@link BlockedCallers});</li>
 * <li>{@code /overflow/**}: proxied to {@code bench.upstream-url} through a pool of one
 * connection where no acquire may wait ({@code bench-overflow}), full while a call to
 * {@code /overflow/hold/**} (sent to {@code /park} without a response timeout) holds
 * it;</li>
 * <li>{@code GET /bench/heap}: runs a full GC and answers the heap in use, in bytes;</li>
 * <li>everything else but the actuator: proxied to {@code bench.upstream-url}.</li>
 * </ul>
 */
@SpringBootApplication
public class BenchApplication {

	private static final Set<String> HOP_BY_HOP = Set.of("connection", "keep-alive", "proxy-authenticate",
			"proxy-authorization", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade", "host");

	public static void main(String[] args) {
		SpringApplication.run(BenchApplication.class, args);
	}

	// Pool metrics (reactor.netty.connection.provider.*) tell whether every acquired
	// connection went back to the pool.
	@Bean(destroyMethod = "dispose")
	ConnectionProvider upstreamConnections() {
		return ConnectionProvider.builder("bench-upstream").maxConnections(1000).metrics(true).build();
	}

	@Bean
	WebClient upstreamClient(WebClient.Builder builder, ConnectionProvider connections) {
		return builder.clientConnector(new ReactorClientHttpConnector(HttpClient.create(connections).compress(false)))
			.build();
	}

	@Bean(destroyMethod = "dispose")
	OverflowClient overflowClient(WebClient.Builder builder) {
		ConnectionProvider connections = ConnectionProvider.builder("bench-overflow")
			.maxConnections(1)
			.pendingAcquireMaxCount(0)
			.metrics(true)
			.build();
		return new OverflowClient(
				builder.clone().clientConnector(new ReactorClientHttpConnector(HttpClient.create(connections))).build(),
				connections);
	}

	/**
	 * The client of the {@code /overflow/**} routes, apart from the main one, and its
	 * pool.
	 */
	record OverflowClient(WebClient webClient, ConnectionProvider connections) {

		void dispose() {
			this.connections.dispose();
		}

	}

	@Bean
	BlockedCallers blockedCallers(@Value("${bench.upstream-url}") URI upstream) {
		return new BlockedCallers(upstream);
	}

	@Bean
	RouterFunction<ServerResponse> routes(WebClient client, OverflowClient overflow, BlockedCallers callers,
			@Value("${bench.upstream-url}") URI upstream,
			@Value("${bench.refused-url:http://127.0.0.1:9}") URI refused) {
		RequestPredicate proxied = RequestPredicates.path("/actuator/**")
			.or(RequestPredicates.path("/bench/**"))
			.negate();
		return RouterFunctions.route()
			.GET("/bench/heap", (request) -> ServerResponse.ok().bodyValue(Long.toString(heapAfterGc())))
			.route(RequestPredicates.path("/detached/**"), (request) -> {
				URI target = target(upstream, request.exchange().getRequest().getURI(), "/detached");
				client.get().uri(target).retrieve().bodyToMono(DataBuffer.class).subscribe((buffer) -> {
				}, (error) -> {
				});
				return Mono.never();
			})
			.route(RequestPredicates.path("/blocked/**"), (request) -> {
				// Built here, on the request's thread, where the call finds its request;
				// blocked on another.
				Mono<?> call = client.get()
					.uri(target(upstream, request.exchange().getRequest().getURI(), "/blocked"))
					.retrieve()
					.toBodilessEntity();
				callers.block(call, request.queryParam("id").orElse(""));
				return Mono.never();
			})
			.route(RequestPredicates.path("/overflow/hold/**"),
					(request) -> ServerResponse.ok()
						.build((exchange, context) -> forward(overflow.webClient(), upstream, exchange,
								"/overflow/hold", "/park", HangupClientAttributes.responseTimeout(Duration.ZERO))))
			.route(RequestPredicates.path("/overflow/**"),
					(request) -> ServerResponse.ok()
						.build((exchange, context) -> forward(overflow.webClient(), upstream, exchange, "/overflow", "",
								(attributes) -> {
								})))
			.route(RequestPredicates.path("/refused/**"),
					(request) -> ServerResponse.ok().build((exchange, context) -> forward(client, refused, exchange)))
			.route(RequestPredicates.path("/**").and(proxied),
					(request) -> ServerResponse.ok().build((exchange, context) -> forward(client, upstream, exchange)))
			.build();
	}

	private static Mono<Void> forward(WebClient client, URI upstream, ServerWebExchange exchange) {
		return forward(client, upstream, exchange, "", "", (attributes) -> {
		});
	}

	private static Mono<Void> forward(WebClient client, URI upstream, ServerWebExchange exchange, String strip,
			String prefix, java.util.function.Consumer<java.util.Map<String, Object>> attributes) {
		return client.method(exchange.getRequest().getMethod())
			.uri(target(upstream, exchange.getRequest().getURI(), strip, prefix))
			.attributes(attributes)
			.headers((headers) -> copyEndToEnd(exchange.getRequest().getHeaders(), headers))
			.exchangeToMono((answer) -> relay(answer, exchange.getResponse()));
	}

	private static Mono<Void> relay(ClientResponse answer, ServerHttpResponse response) {
		response.setStatusCode(answer.statusCode());
		copyEndToEnd(answer.headers().asHttpHeaders(), response.getHeaders());
		if (response.getHeaders().getContentLength() < 0) {
			return response.writeAndFlushWith(answer.bodyToFlux(DataBuffer.class).map(Mono::just));
		}
		return response.writeWith(answer.bodyToFlux(DataBuffer.class));
	}

	private static void copyEndToEnd(HttpHeaders from, HttpHeaders to) {
		from.forEach((name, values) -> {
			if (!HOP_BY_HOP.contains(name.toLowerCase(Locale.ROOT))) {
				to.put(name, List.copyOf(values));
			}
		});
	}

	private static URI target(URI upstream, URI request, String strip) {
		return target(upstream, request, strip, "");
	}

	private static URI target(URI upstream, URI request, String strip, String prefix) {
		String path = prefix + request.getRawPath().substring(strip.length());
		String query = (request.getRawQuery() != null) ? "?" + request.getRawQuery() : "";
		return URI.create(upstream.getScheme() + "://" + upstream.getRawAuthority() + path + query);
	}

	/**
	 * The heap in use after a full GC, in bytes: what the soak compares before and after
	 * its workload.
	 */
	public static long heapAfterGc() {
		// Two collections: the first may only queue finalizable and weakly reachable
		// objects.
		System.gc();
		System.gc();
		return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
	}

	/**
	 * Callers that cannot be reactive: each blocks on its call on a thread of its own.
	 * Once released, it tells the upstream with what ({@code with}: the exception's class
	 * name, or {@code completed}) and when ({@code at}: its {@link System#nanoTime()}),
	 * at {@code /released?id=…}. The marker is written by the released thread itself on a
	 * keep-alive socket, outside Hangup (a stopped request cannot stop it) and without a
	 * hop to an event loop, so that it adds little to what the driver measures; one
	 * socket, so that concurrent markers queue, which the driver's one-at-a-time cancels
	 * never do.
	 */
	static final class BlockedCallers implements AutoCloseable {

		private final ExecutorService threads = Executors.newCachedThreadPool((task) -> {
			Thread thread = new Thread(task, "bench-blocked-caller");
			thread.setDaemon(true);
			return thread;
		});

		private final int upstreamPort;

		private @Nullable RawHttp markers;

		BlockedCallers(URI upstream) {
			this.upstreamPort = upstream.getPort();
		}

		void block(Mono<?> call, String id) {
			this.threads.execute(() -> {
				String outcome;
				try {
					call.block();
					outcome = "completed";
				}
				catch (RuntimeException ex) {
					outcome = ex.getClass().getName();
				}
				mark("/released?id=" + id + "&with=" + outcome + "&at=" + System.nanoTime());
			});
		}

		private synchronized void mark(String target) {
			// Once more on a new connection if the upstream closed the idle one.
			for (int attempt = 1; attempt <= 2; attempt++) {
				try {
					if (this.markers == null) {
						this.markers = new RawHttp(this.upstreamPort, 10_000);
					}
					this.markers.send("GET", target, true);
					if (this.markers.readHead() != null) {
						return;
					}
				}
				catch (IOException ex) {
					// Reconnected below.
				}
				if (this.markers != null) {
					this.markers.close();
					this.markers = null;
				}
			}
		}

		@Override
		public synchronized void close() {
			this.threads.shutdownNow();
			if (this.markers != null) {
				this.markers.close();
			}
		}

	}

}
