package io.github.hangup.bench.harness;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.DoubleSupplier;

/**
 * How long an honest error takes: a client on a new connection (as {@code curl} is) asks
 * the proxy for something its upstream fails, and the time from sending the request to
 * reading the whole answer is taken. The kinds run in turn, one request at a time, 5 ms
 * apart, with a healthy request among them as the yardstick:
 * <ul>
 * <li>{@code /close}: the upstream closes the connection without answering (502);</li>
 * <li>{@code /reset}: the upstream resets it without answering (502);</li>
 * <li>{@code /refused/x}: a route to a port nobody listens on (502);</li>
 * <li>{@code /ok}: a healthy 64 B answer (200).</li>
 * </ul>
 * Each proxy is measured cold (its first {@value #COLD} requests of each kind after
 * start-up) and warm (after {@code warm-up} more), the proxies given in turn, request by
 * request.
 */
final class ErrorLatency {

	/** Requests of each kind counted as cold, right after start-up. */
	static final int COLD = 20;

	private static final long PAUSE_MILLIS = 5;

	/**
	 * The kinds measured: label, request target (the id is appended), expected status
	 * with the starter.
	 */
	static final List<Kind> KINDS = List.of(new Kind("closed before answering", "/close?id="),
			new Kind("reset before answering", "/reset?id="), new Kind("connection refused", "/refused/x?id="),
			new Kind("healthy 64 B (200)", "/ok?id="));

	private ErrorLatency() {
	}

	/** A kind of request and where to send it. */
	record Kind(String label, String target) {
	}

	/**
	 * The latencies of one proxy, per kind: cold and warm, in milliseconds, and the
	 * statuses seen.
	 */
	static final class Measured {

		final String name;

		final int port;

		/** CPU time the proxy used so far, in seconds. */
		final DoubleSupplier cpu;

		final Map<Kind, double[]> cpuPerKind = new LinkedHashMap<>();

		final Map<Kind, List<Double>> cold = new LinkedHashMap<>();

		final Map<Kind, List<Double>> warm = new LinkedHashMap<>();

		final Map<Kind, Map<Integer, Integer>> statuses = new LinkedHashMap<>();

		Measured(String name, int port, DoubleSupplier cpu) {
			this.name = name;
			this.port = port;
			this.cpu = cpu;
			for (Kind kind : KINDS) {
				this.cold.put(kind, new ArrayList<>());
				this.warm.put(kind, new ArrayList<>());
				this.statuses.put(kind, new LinkedHashMap<>());
				this.cpuPerKind.put(kind, new double[1]);
			}
		}

	}

	/**
	 * Measures the proxies in turn: {@link #COLD} cold rounds, then {@code load} (healthy
	 * load, as a proxy in service has had) and {@code warmUp} rounds not kept, then
	 * {@code rounds} warm rounds; a round sends one request of each kind to each proxy.
	 * The CPU time of the warm rounds is summed per kind.
	 */
	static void measure(List<Measured> proxies, Runnable load, int warmUp, int rounds) throws Exception {
		int id = 0;
		for (int round = 0; round < COLD + warmUp + rounds; round++) {
			if (round == COLD) {
				load.run();
			}
			for (Kind kind : KINDS) {
				for (Measured proxy : proxies) {
					double cpuBefore = proxy.cpu.getAsDouble();
					long[] result = once(proxy.port, kind.target() + "e" + (id++));
					if (round >= COLD + warmUp) {
						proxy.cpuPerKind.get(kind)[0] += proxy.cpu.getAsDouble() - cpuBefore;
					}
					proxy.statuses.get(kind).merge((int) result[0], 1, Integer::sum);
					double millis = result[1] / 1e6;
					if (round < COLD) {
						proxy.cold.get(kind).add(millis);
					}
					else if (round >= COLD + warmUp) {
						proxy.warm.get(kind).add(millis);
					}
					TimeUnit.MILLISECONDS.sleep(PAUSE_MILLIS);
				}
			}
		}
	}

	/**
	 * Sends one request on a new connection; answers the status (0 for none) and the
	 * nanoseconds to the whole answer.
	 */
	static long[] once(int port, String target) throws IOException {
		try (RawHttp client = new RawHttp(port, 10_000)) {
			long start = System.nanoTime();
			client.send("GET", target, false);
			RawHttp.Head head = client.readHead();
			if (head == null) {
				return new long[] { 0, System.nanoTime() - start };
			}
			if (head.contentLength() > 0) {
				client.readBody(head.contentLength());
			}
			else if (head.chunked() || head.contentLength() < 0) {
				client.readBody(Long.MAX_VALUE);
			}
			return new long[] { head.status(), System.nanoTime() - start };
		}
	}

	static void print(List<Measured> proxies) {
		for (Kind kind : KINDS) {
			for (Measured proxy : proxies) {
				System.out.printf(Locale.ROOT,
						"  %-24s %-9s cold %s   warm %s   CPU %5.0f us/request (warm)   statuses %s%n", kind.label(),
						proxy.name, figures(proxy.cold.get(kind)), figures(proxy.warm.get(kind)),
						proxy.cpuPerKind.get(kind)[0] * 1e6 / proxy.warm.get(kind).size(), proxy.statuses.get(kind));
			}
		}
	}

	private static String figures(List<Double> millis) {
		double[] values = Stats.of(millis);
		return String.format(Locale.ROOT, "p50 %6.2f p95 %6.2f max %6.2f ms", Stats.percentile(values, 50),
				Stats.percentile(values, 95), Stats.max(values));
	}

}
