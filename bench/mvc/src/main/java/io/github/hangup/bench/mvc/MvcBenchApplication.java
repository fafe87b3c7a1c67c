package io.github.hangup.bench.mvc;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.util.List;
import java.util.Locale;
import java.util.Set;

import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;

import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpMethod;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.client.RestClient;

/**
 * The Spring MVC application of the soak's MVC mode: a streaming relay on Tomcat, with
 * the {@code RestClient} Boot builds (on the JDK {@code HttpClient}), as an MVC
 * application on the starter writes one.
 * <ul>
 * <li>{@code /refused/**}: relayed to {@code bench.refused-url};</li>
 * <li>{@code GET /bench/heap}: runs a full GC and answers the heap in use, in bytes;</li>
 * <li>everything else but the actuator: relayed to {@code bench.upstream-url}, the
 * answer's head first, then its body as it arrives.</li>
 * </ul>
 */
@SpringBootApplication
public class MvcBenchApplication {

	public static void main(String[] args) {
		SpringApplication.run(MvcBenchApplication.class, args);
	}

	@RestController
	static class RelayController {

		/** Headers of one connection, and those the JDK client sets itself. */
		private static final Set<String> NOT_RELAYED = Set.of("connection", "keep-alive", "proxy-authenticate",
				"proxy-authorization", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade", "host",
				"content-length", "expect");

		private final RestClient client;

		private final URI upstream;

		private final URI refused;

		RelayController(RestClient.Builder builder, @Value("${bench.upstream-url}") URI upstream,
				@Value("${bench.refused-url:http://127.0.0.1:9}") URI refused) {
			this.client = builder.build();
			this.upstream = upstream;
			this.refused = refused;
		}

		@GetMapping("/bench/heap")
		String heap() {
			// Two collections: the first may only queue finalizable and weakly reachable
			// objects.
			System.gc();
			System.gc();
			return Long.toString(ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed());
		}

		@RequestMapping("/refused/**")
		void refused(HttpServletRequest request, HttpServletResponse response) {
			relay(this.refused, request, response);
		}

		@RequestMapping("/**")
		void proxied(HttpServletRequest request, HttpServletResponse response) {
			relay(this.upstream, request, response);
		}

		private void relay(URI to, HttpServletRequest request, HttpServletResponse response) {
			String query = (request.getQueryString() != null) ? "?" + request.getQueryString() : "";
			this.client.method(HttpMethod.valueOf(request.getMethod()))
				.uri(URI.create(to.getScheme() + "://" + to.getRawAuthority() + request.getRequestURI() + query))
				.headers((headers) -> request.getHeaderNames().asIterator().forEachRemaining((name) -> {
					if (!NOT_RELAYED.contains(name.toLowerCase(Locale.ROOT))) {
						headers.put(name, List.copyOf(java.util.Collections.list(request.getHeaders(name))));
					}
				}))
				.exchange((call, answer) -> {
					response.setStatus(answer.getStatusCode().value());
					HttpHeaders headers = answer.getHeaders();
					headers.forEach((name, values) -> {
						if (!NOT_RELAYED.contains(name.toLowerCase(Locale.ROOT))
								|| name.equalsIgnoreCase("content-length")) {
							values.forEach((value) -> response.addHeader(name, value));
						}
					});
					copy(answer.getBody(), response.getOutputStream());
					return null;
				});
		}

		/**
		 * Each piece as it arrives: a client sees the first bytes before the last exist.
		 */
		private static void copy(InputStream body, OutputStream out) throws IOException {
			byte[] buffer = new byte[8192];
			int read;
			while ((read = body.read(buffer)) != -1) {
				out.write(buffer, 0, read);
				out.flush();
			}
		}

	}

}
