package io.github.hangup.bench.harness;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.ToDoubleFunction;

import org.jspecify.annotations.Nullable;

/**
 * The proxy as the bottleneck: {@code wrk} (C) and the upstream on the other CPUs load
 * the sample proxy, pinned to one CPU, to that CPU's limit. Three proxies of the same jar
 * run at once, loaded one at a time in interleaved rounds: with the starter
 * ({@code enabled}), without it ({@code disabled}) and without it again ({@code control},
 * the A/A control: control/disabled is the noise of the method). Each round measures each
 * body on each proxy, in an order that rotates from round to round, each after a 1 s
 * re-warm.
 * <p>
 * That the proxy sets the pace is checked, not assumed: its CPU busy, the generator's and
 * the upstream's CPU use, and a direct run of the same generator against the same
 * upstream that must reach well above the proxy's rate.
 */
final class ProxyBound {

	static final List<String> BODIES = List.of("/small", "/big");

	static final List<String> PROXIES = List.of("enabled", "disabled", "control");

	/**
	 * Direct rate over proxy rate below which the generator and upstream may be what
	 * limits the proxy.
	 */
	private static final double HEADROOM = 1.5;

	private ProxyBound() {
	}

	/** The sizes of one run. */
	record Sizes(int warmUpSeconds, int rounds, int seconds, int connections, double failAbove) {
	}

	/** What one measurement of one proxy and body saw. */
	record Measure(Wrk.Result load, double proxyCpuSeconds, double heapBytes, double generatorCpuBusy,
			double upstreamCpuSeconds, double appCpuBusy) {

		double cpuMicrosPerRequest() {
			return this.proxyCpuSeconds * 1e6 / this.load.requests();
		}

		double heapPerRequest() {
			return this.heapBytes / this.load.requests();
		}

		double proxyBusy() {
			return this.proxyCpuSeconds / this.load.seconds();
		}

	}

	/** A proxy under test: its process, and its measures per body. */
	record Proxy(String name, AppProcess app, Map<String, List<Measure>> measures) {
	}

	/** Starts a proxy of the sample jar; the caller closes it. */
	@FunctionalInterface
	interface Starter {

		AppProcess start(String name, String upstreamUrl, String... args) throws Exception;

	}

	/**
	 * Runs the benchmark and prints its report.
	 * @return whether it passed: no error answers, and for every body the CPU per request
	 * ratio of the best round or over all rounds within {@code sizes.failAbove()} plus
	 * what the A/A control's median strays above 1
	 */
	static boolean run(Starter starter, @Nullable String appCpus, Sizes sizes) throws Exception {
		System.out.printf(Locale.ROOT, "%n== Proxy-bound: wrk -t1 -c%d on the other CPU(s), the proxy on CPU %s, "
				+ "%d s warm-up each, %d interleaved rounds x %d s per body and proxy (enabled, disabled, control = "
				+ "disabled again)%n", sizes.connections(), (appCpus != null) ? appCpus : "any", sizes.warmUpSeconds(),
				sizes.rounds(), sizes.seconds());
		Set<Integer> appCpuSet = parseCpus(appCpus);
		List<Proxy> proxies = new ArrayList<>();
		try (FastUpstream upstream = new FastUpstream()) {
			try {
				for (String name : PROXIES) {
					String[] args = name.equals("enabled") ? new String[0] : new String[] { "--hangup.enabled=false" };
					proxies.add(new Proxy(name, starter.start(name, upstream.url(), args), new LinkedHashMap<>()));
				}
				for (Proxy proxy : proxies) {
					warmUp(proxy, sizes);
				}
				Map<String, Measure> direct = new LinkedHashMap<>();
				for (String body : BODIES) {
					direct.put(body, measure(upstream.url() + body, null, sizes, appCpuSet));
				}
				for (int round = 0; round < sizes.rounds(); round++) {
					for (String body : BODIES) {
						for (int i = 0; i < proxies.size(); i++) {
							Proxy proxy = proxies.get((round + i) % proxies.size());
							String url = "http://127.0.0.1:" + proxy.app().port() + body;
							Wrk.run(url, sizes.connections(), 1);
							Measure measure = measure(url, proxy.app(), sizes, appCpuSet);
							proxy.measures().computeIfAbsent(body, (key) -> new ArrayList<>()).add(measure);
							System.out
								.printf(Locale.ROOT, "  round %d %-6s %-8s %8.0f req/s  p50 %5.2f ms  p99 %6.2f ms  "
										+ "CPU %5.1f us/request (proxy %.2f busy)  heap %6.0f B/request  errors %d%n",
										round + 1, body, proxy.name(), measure.load().throughput(),
										measure.load().p50Millis(), measure.load().p99Millis(),
										measure.cpuMicrosPerRequest(), measure.proxyBusy(), measure.heapPerRequest(),
										measure.load().errors());
						}
					}
				}
				return report(proxies, direct, sizes);
			}
			finally {
				for (Proxy proxy : proxies) {
					proxy.app().close();
				}
			}
		}
	}

	private static void warmUp(Proxy proxy, Sizes sizes) throws IOException, InterruptedException {
		int step = Math.min(10, Math.max(1, sizes.warmUpSeconds() / 2));
		for (int elapsed = 0; elapsed < sizes.warmUpSeconds(); elapsed += step) {
			String body = BODIES.get((elapsed / step) % BODIES.size());
			Wrk.run("http://127.0.0.1:" + proxy.app().port() + body, sizes.connections(), step);
		}
	}

	/**
	 * One measured load; {@code app} is {@code null} for the direct run against the
	 * upstream.
	 */
	private static Measure measure(String url, @Nullable AppProcess app, Sizes sizes, Set<Integer> appCpus)
			throws IOException, InterruptedException {
		AppProcess.Usage before = (app != null) ? app.usage() : null;
		long[][] cpusBefore = cpuTimes();
		double upstreamBefore = ownCpuSeconds();
		Wrk.Result load = Wrk.run(url, sizes.connections(), sizes.seconds());
		double upstreamCpu = ownCpuSeconds() - upstreamBefore;
		long[][] cpusAfter = cpuTimes();
		AppProcess.Usage used = (app != null && before != null) ? app.usage().since(before) : null;
		return new Measure(load, (used != null) ? used.cpuSeconds() : Double.NaN,
				(used != null && used.allocatedBytes() >= 0) ? used.allocatedBytes() : Double.NaN,
				busy(cpusBefore, cpusAfter, appCpus, false), upstreamCpu, busy(cpusBefore, cpusAfter, appCpus, true));
	}

	private static boolean report(List<Proxy> proxies, Map<String, Measure> direct, Sizes sizes) {
		Proxy enabled = proxies.get(0);
		Proxy disabled = proxies.get(1);
		Proxy control = proxies.get(2);
		boolean passed = true;
		System.out.println();
		System.out.println("  medians per proxy:");
		for (String body : BODIES) {
			for (Proxy proxy : proxies) {
				List<Measure> list = proxy.measures().get(body);
				System.out.printf(Locale.ROOT,
						"  %-6s %-8s %8.0f req/s  p50 %5.2f ms  p99 %6.2f ms  CPU %5.1f us/request  "
								+ "heap %6.0f B/request  proxy CPU busy %.2f  its CPU busy %.2f (all processes)  "
								+ "generator CPU(s) busy %.2f (wrk %.2f, upstream %.2f)  errors %d%n",
						body, proxy.name(), median(list, (m) -> m.load().throughput()),
						median(list, (m) -> m.load().p50Millis()), median(list, (m) -> m.load().p99Millis()),
						median(list, Measure::cpuMicrosPerRequest), median(list, Measure::heapPerRequest),
						median(list, Measure::proxyBusy), median(list, Measure::appCpuBusy),
						median(list, Measure::generatorCpuBusy),
						median(list, (m) -> m.load().cpuSeconds() / m.load().seconds()),
						median(list, (m) -> m.upstreamCpuSeconds() / m.load().seconds()),
						list.stream().mapToLong((m) -> m.load().errors()).sum());
				if (list.stream().anyMatch((m) -> m.load().errors() > 0)) {
					passed = false;
				}
			}
			Measure straight = direct.get(body);
			double proxyRate = median(disabled.measures().get(body), (m) -> m.load().throughput());
			double headroom = straight.load().throughput() / proxyRate;
			System.out
				.printf(Locale.ROOT, "  %-6s direct  %8.0f req/s  p50 %5.2f ms  p99 %6.2f ms  (wrk straight to the "
						+ "upstream: %.1f times the plain proxy's rate; generator CPU(s) busy %.2f, wrk %.2f, upstream %.2f)%s%n",
						body, straight.load().throughput(), straight.load().p50Millis(), straight.load().p99Millis(),
						headroom, straight.generatorCpuBusy(), straight.load().cpuSeconds() / straight.load().seconds(),
						straight.upstreamCpuSeconds() / straight.load().seconds(), (headroom < HEADROOM)
								? "  WARNING: under " + HEADROOM + " times, the generator may set the pace" : "");
		}
		System.out.println();
		System.out.printf(Locale.ROOT, "  ratios per round, min / median / max over %d rounds (enabled/disabled; "
				+ "control/disabled is the A/A control):%n", sizes.rounds());
		for (String body : BODIES) {
			String label = body.equals("/small") ? "64 B" : "16 KiB";
			for (Proxy proxy : List.of(enabled, control)) {
				double[] throughput = ratios(proxy, disabled, body, (m) -> m.load().throughput());
				double[] p50 = ratios(proxy, disabled, body, (m) -> m.load().p50Millis());
				double[] p99 = ratios(proxy, disabled, body, (m) -> m.load().p99Millis());
				double[] cpu = ratios(proxy, disabled, body, Measure::cpuMicrosPerRequest);
				double[] heap = ratios(proxy, disabled, body, Measure::heapPerRequest);
				System.out.printf(Locale.ROOT,
						"  %-7s %-8s throughput %s   p50 %s   p99 %s   CPU per request %s   heap per " + "request %s%n",
						label, proxy.name(), Stats.spread(throughput, "%.3f"), Stats.spread(p50, "%.3f"),
						Stats.spread(p99, "%.3f"), Stats.spread(cpu, "%.3f"), Stats.spread(heap, "%.3f"));
				System.out.printf(Locale.ROOT,
						"  %-7s %-8s CPU per request over all rounds (CPU time / requests): %.3f%n", label,
						proxy.name(), pooledCpuRatio(proxy, disabled, body));
				if (proxy == enabled && sizes.failAbove() > 0) {
					// The threshold widens by what the A/A control strays above 1 in the
					// same run: a machine that moves two identical proxies apart is not a
					// regression.
					double noise = Math.max(0,
							Stats.median(ratios(control, disabled, body, Measure::cpuMicrosPerRequest)) - 1);
					double limit = sizes.failAbove() + noise;
					double pooled = pooledCpuRatio(proxy, disabled, body);
					// A gross regression shows in every round and over all rounds alike.
					// Noise on a shared machine (another job, a JIT compilation late in
					// the warm-up, counted in the proxy's CPU time) moves some rounds
					// only: the best round must be above too.
					if (Stats.min(cpu) > limit && pooled > limit) {
						System.out.printf(Locale.ROOT,
								"  FAILED: %s CPU per request ratio %.3f in the best round (over all "
										+ "rounds %.3f) above %.3f (%.2f + the control's %.3f)%n",
								label, Stats.min(cpu), pooled, limit, sizes.failAbove(), noise);
						passed = false;
					}
				}
			}
		}
		double controlCpu = pooledCpuRatio(control, disabled, "/small");
		if (Math.abs(controlCpu - 1) > 0.05) {
			System.out.printf(Locale.ROOT, "  NOTE: the A/A control's CPU ratio is %.3f: the machine was noisy, "
					+ "read the ratios with that margin%n", controlCpu);
		}
		if (sizes.failAbove() > 0) {
			System.out
				.println(passed
						? "  Proxy-bound check PASSED (gross regression threshold: CPU per request ratio in "
								+ "every round and over all rounds " + sizes.failAbove()
								+ " plus the control's excess over 1, no error answers)"
						: "  Proxy-bound check FAILED");
		}
		return passed;
	}

	/**
	 * The proxy's CPU time over all rounds per request answered, over the plain proxy's:
	 * less moved by one noisy round than the median of a few per-round ratios.
	 */
	private static double pooledCpuRatio(Proxy proxy, Proxy base, String body) {
		return pooledCpu(proxy.measures().get(body)) / pooledCpu(base.measures().get(body));
	}

	private static double pooledCpu(List<Measure> measures) {
		return measures.stream().mapToDouble(Measure::proxyCpuSeconds).sum()
				/ measures.stream().mapToLong((m) -> m.load().requests()).sum();
	}

	/** Per round: the proxy's figure over the plain proxy's. */
	private static double[] ratios(Proxy proxy, Proxy base, String body, ToDoubleFunction<Measure> figure) {
		List<Measure> on = proxy.measures().get(body);
		List<Measure> off = base.measures().get(body);
		double[] ratios = new double[on.size()];
		for (int i = 0; i < ratios.length; i++) {
			ratios[i] = figure.applyAsDouble(on.get(i)) / figure.applyAsDouble(off.get(i));
		}
		return ratios;
	}

	private static double median(List<Measure> measures, ToDoubleFunction<Measure> figure) {
		return Stats.median(measures.stream().mapToDouble(figure).toArray());
	}

	/** CPU time of this JVM, which during a measurement is mostly the upstream's. */
	private static double ownCpuSeconds() {
		return ProcessHandle.current().info().totalCpuDuration().map(Duration::toNanos).orElse(0L) / 1e9;
	}

	/**
	 * Per CPU, from {@code /proc/stat}: its number, busy and total jiffies; empty without
	 * {@code /proc}.
	 */
	private static long[][] cpuTimes() {
		try {
			List<long[]> cpus = new ArrayList<>();
			for (String line : Files.readAllLines(Path.of("/proc/stat"))) {
				if (line.startsWith("cpu") && Character.isDigit(line.charAt(3))) {
					String[] fields = line.trim().split("\\s+");
					long total = 0;
					for (int i = 1; i < Math.min(fields.length, 9); i++) {
						total += Long.parseLong(fields[i]);
					}
					long idle = Long.parseLong(fields[4]) + Long.parseLong(fields[5]);
					cpus.add(new long[] { Integer.parseInt(fields[0].substring(3)), total - idle, total });
				}
			}
			return cpus.toArray(long[][]::new);
		}
		catch (IOException | RuntimeException ex) {
			return new long[0][];
		}
	}

	/**
	 * The busy share of the proxy's CPUs ({@code app}) or of the others, between two
	 * readings.
	 */
	private static double busy(long[][] before, long[][] after, Set<Integer> appCpus, boolean app) {
		long busy = 0;
		long total = 0;
		for (int i = 0; i < Math.min(before.length, after.length); i++) {
			if (appCpus.contains((int) after[i][0]) == app) {
				busy += after[i][1] - before[i][1];
				total += after[i][2] - before[i][2];
			}
		}
		return (total > 0) ? busy / (double) total : Double.NaN;
	}

	/** A taskset list ("1", "0,2-3") as CPU numbers. */
	static Set<Integer> parseCpus(@Nullable String list) {
		Set<Integer> cpus = new HashSet<>();
		if (list == null) {
			return cpus;
		}
		for (String part : list.split(",")) {
			if (part.contains("-")) {
				int from = Integer.parseInt(part.substring(0, part.indexOf('-')));
				int to = Integer.parseInt(part.substring(part.indexOf('-') + 1));
				for (int cpu = from; cpu <= to; cpu++) {
					cpus.add(cpu);
				}
			}
			else if (!part.isBlank()) {
				cpus.add(Integer.parseInt(part.trim()));
			}
		}
		return cpus;
	}

}
