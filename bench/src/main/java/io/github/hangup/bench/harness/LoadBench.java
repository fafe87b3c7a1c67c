package io.github.hangup.bench.harness;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import java.util.stream.Collectors;

import io.github.hangup.ClientCancelException;
import io.github.hangup.bench.harness.FaultyUpstream.Release;
import io.github.hangup.bench.harness.FaultyUpstream.Tracked;

/**
 * Load, cancel-latency and cancel-storm benchmarks against real processes on loopback.
 * <ul>
 * <li>{@code ratios}: the sample proxy started twice, with Hangup and with
 * {@code --hangup.enabled=false}, in front of the same fast upstream; throughput and
 * p50/p99 latency for a small and a 16 KiB body, alternating, as ratios enabled/disabled.
 * Repeated over {@code --launches} fresh pairs of JVMs, as JMH forks: each launch
 * compiles the code its own way, and that moves a ratio as much as the starter does;</li>
 * <li>{@code side-by-side}: the same pair loaded at once on the same CPU;</li>
 * <li>{@code cancel}: time from a client closing its connection to the upstream seeing
 * its own connection closed, for the sample proxy (an in-chain call) and for the bench
 * app's {@code /detached} route (a call subscribed outside the chain); and to a caller
 * blocked on the stopped call being released, through the bench app's {@code /blocked}
 * route. The three run in turn, one cancel at a time, 20 ms apart;</li>
 * <li>{@code storm}: healthy clients' p99 while 30% of clients abandon their requests,
 * against the same healthy load alone;</li>
 * <li>{@code bound} (not run by default): the proxy as the bottleneck, loaded by
 * {@code wrk}, see {@link ProxyBound};</li>
 * <li>{@code errors} (not run by default): how long an honest 502 takes, see
 * {@link ErrorLatency}.</li>
 * </ul>
 * Arguments: {@code --sample-jar JAR [--quick] [--only ratios,side-by-side,cancel,storm]
 * [--launches N] [--runs N] [--duration S] [--storm-duration S] [--clients N] [--cancels N]
 * [--warm-up S] [--app-cpus LIST] [--control] [--connections N] [--ci] [--fail-above RATIO]
 * [--proxy sample|mvc-tomcat|mvc-jetty]}. {@code --proxy} picks the proxy of
 * {@code bound}: the sample app (the default) or the Spring MVC relay of
 * {@code bench/mvc} on Tomcat or Jetty. {@code --control} starts both applications with
 * {@code --hangup.enabled=false}: the ratios of two identical applications show the noise
 * floor of the machine.
 */
public final class LoadBench {

	/**
	 * JVM options of the applications under test; {@code BENCH_APP_JVM_OPTS} adds more (a
	 * profiler, say).
	 */
	private static final String[] APP_JVM = appJvm();

	/** Minimum warm-up per application and body, in seconds. */
	private static int warmUpSeconds;

	/** CPUs (a taskset list) the applications under test run on; {@code null} for any. */
	private static String appCpus;

	/** Whether both applications run without the starter, to measure the noise floor. */
	private static boolean control;

	private static final List<String> QUIET = List.of("--logging.level.root=warn",
			"--logging.level.io.github.hangup.Hangups=error");

	/**
	 * Pause after each cancel of the interleaved series: the proxy that just saw a cancel
	 * finishes with it (recording, closing) before the other proxy, on the same CPU, gets
	 * the next; without it, p95 and p99 grow by half.
	 */
	private static final Duration SETTLE = Duration.ofMillis(20);

	/** What a cancel waits for: the upstream sees its connection closed. */
	private static final Function<Tracked, CompletableFuture<Long>> PEER_CLOSED = (tracked) -> tracked.peerClosed;

	/** What a cancel waits for: the bench app reports the blocked caller released. */
	private static final Function<Tracked, CompletableFuture<Release>> RELEASED = (tracked) -> tracked.released;

	public static void main(String[] args) throws Exception {
		String sampleJar = null;
		boolean quick = false;
		Set<String> only = Set.of("ratios", "side-by-side", "cancel", "storm");
		int launches = -1;
		int runs = -1;
		int duration = -1;
		int stormDuration = -1;
		int clients = 16;
		int cancels = -1;
		int connections = 32;
		boolean ci = false;
		double failAbove = 0;
		String proxy = "sample";
		Path out = Path.of("target", "load");
		for (int i = 0; i < args.length; i++) {
			switch (args[i]) {
				case "--sample-jar" -> sampleJar = args[++i];
				case "--quick" -> quick = true;
				case "--only" -> only = Set.of(args[++i].split(","));
				case "--launches" -> launches = Integer.parseInt(args[++i]);
				case "--runs" -> runs = Integer.parseInt(args[++i]);
				case "--control" -> control = true;
				case "--duration" -> duration = Integer.parseInt(args[++i]);
				case "--storm-duration" -> stormDuration = Integer.parseInt(args[++i]);
				case "--clients" -> clients = Integer.parseInt(args[++i]);
				case "--cancels" -> cancels = Integer.parseInt(args[++i]);
				case "--out" -> out = Path.of(args[++i]);
				case "--app-cpus" -> appCpus = args[++i];
				case "--warm-up" -> warmUpSeconds = Integer.parseInt(args[++i]);
				case "--connections" -> connections = Integer.parseInt(args[++i]);
				case "--ci" -> ci = true;
				case "--fail-above" -> failAbove = Double.parseDouble(args[++i]);
				case "--proxy" -> proxy = args[++i];
				default -> throw new IllegalArgumentException("Unknown argument " + args[i]);
			}
		}
		// The proxy-bound sizes, before the other parts' defaults fill in what was not
		// given.
		ProxyBound.Sizes boundSizes = new ProxyBound.Sizes(
				(warmUpSeconds > 0) ? warmUpSeconds : (ci ? 45 : (quick ? 40 : 120)),
				(runs > 0) ? runs : (ci ? 5 : (quick ? 5 : 10)), (duration > 0) ? duration : (ci ? 3 : (quick ? 5 : 8)),
				connections, (failAbove > 0) ? failAbove : (ci ? 1.25 : 0));
		launches = (launches > 0) ? launches : (quick ? 1 : 3);
		runs = (runs > 0) ? runs : (quick ? 5 : 10);
		duration = (duration > 0) ? duration : (quick ? 4 : 8);
		warmUpSeconds = (warmUpSeconds > 0) ? warmUpSeconds : (quick ? 40 : 60);
		stormDuration = (stormDuration > 0) ? stormDuration : (quick ? 10 : 30);
		cancels = (cancels > 0) ? cancels : (quick ? 200 : 500);
		System.out.printf(Locale.ROOT, "Machine: %s, JDK %s, %s %s%n", cpus(), System.getProperty("java.version"),
				System.getProperty("os.name"), System.getProperty("os.version"));
		if (appCpus != null) {
			System.out.printf(Locale.ROOT, "Applications under test pinned to CPU %s; this generator and the upstream "
					+ "run on %d other CPU(s)%n", appCpus, Runtime.getRuntime().availableProcessors());
		}
		if (control) {
			// The other parts read the starter's own metrics from the enabled
			// application.
			only = only.stream()
				.filter((part) -> part.equals("ratios") || part.equals("side-by-side"))
				.collect(Collectors.toSet());
			System.out
				.println("Control: both applications run with --hangup.enabled=false; \"enabled\" names the first");
		}
		if (only.contains("ratios")) {
			ratios(sampleJar, out, launches, runs, duration, clients);
		}
		if (only.contains("side-by-side")) {
			sideBySide(sampleJar, out, launches, runs, duration, clients);
		}
		if (only.contains("cancel")) {
			cancelLatency(sampleJar, out, cancels);
		}
		if (only.contains("storm")) {
			storm(sampleJar, out, stormDuration, clients);
		}
		boolean passed = true;
		if (only.contains("bound")) {
			String jar = sampleJar;
			Path logs = out;
			String container = proxy;
			ProxyBound.Starter starter = switch (proxy) {
				case "sample" -> (name, upstreamUrl, extra) -> sample(name, jar, upstreamUrl,
						logs.resolve("bound-" + name + ".log"), extra);
				case "mvc-tomcat", "mvc-jetty" -> (name, upstreamUrl, extra) -> mvc(name, container, upstreamUrl,
						logs.resolve("bound-" + container + "-" + name + ".log"), extra);
				default -> throw new IllegalArgumentException("Unknown proxy " + proxy);
			};
			System.out.printf(Locale.ROOT, "%nProxy: %s%n", proxy.equals("sample") ? "the sample app (WebFlux)"
					: "the Spring MVC relay of bench/mvc on " + (proxy.equals("mvc-jetty") ? "Jetty" : "Tomcat"));
			passed = ProxyBound.run(starter, appCpus, boundSizes);
		}
		if (only.contains("errors")) {
			errors(sampleJar, out, quick ? 100 : 200, quick ? 200 : 500);
		}
		if (!passed) {
			System.exit(1);
		}
	}

	/**
	 * How long an honest 502 takes, cold and warm, with the starter and without it
	 * (Spring's own 500), against a raw-socket upstream that closes or resets, and a
	 * refused route.
	 */
	private static void errors(String sampleJar, Path out, int warmUp, int rounds) throws Exception {
		System.out.printf(Locale.ROOT, "%n== Errors: a new client connection per request, send -> whole answer read; "
				+ "the proxies and kinds in turn, one request at a time; cold = the first %d of each kind after "
				+ "start-up, warm = %d after %d more%n", ErrorLatency.COLD, rounds, warmUp);
		String refused = "http://127.0.0.1:" + AppProcess.freePort();
		// Hang-ups logged as an application logs them by default: one WARN line each.
		String[] routes = { "--sample.routes.refused.prefix=/refused", "--sample.routes.refused.uri=" + refused,
				"--logging.level.io.github.hangup.Hangups=warn" };
		try (FaultyUpstream upstream = new FaultyUpstream();
				AppProcess enabled = sample("enabled", sampleJar, upstream.url(), out.resolve("errors-enabled.log"),
						routes);
				AppProcess disabled = sample("disabled", sampleJar, upstream.url(), out.resolve("errors-disabled.log"),
						concat(routes, "--hangup.enabled=false"))) {
			List<ErrorLatency.Measured> proxies = new ArrayList<>(
					List.of(new ErrorLatency.Measured("enabled", enabled.port(), enabled::cpuSeconds),
							new ErrorLatency.Measured("disabled", disabled.port(), disabled::cpuSeconds)));
			Path binary = Nginx.binary();
			Nginx nginx = (binary != null)
					? Nginx.start(binary, upstream.url(), refused, appCpus, out.toAbsolutePath().resolve("nginx"))
					: null;
			try {
				if (nginx != null) {
					proxies.add(new ErrorLatency.Measured("nginx", nginx.port(), nginx::cpuSeconds));
				}
				else {
					System.out
						.println("  (no nginx on the path: apt-get install nginx-light adds it as the yardstick)");
				}
				// Between the cold and the warm rounds, healthy load, as a proxy in
				// service has had.
				Runnable load = () -> {
					for (AppProcess app : List.of(enabled, disabled)) {
						for (int step = 0; step < 4; step++) {
							try {
								LoadGenerator.run(app.port(), "/ok?id=load", 8, 5000, 0, null);
							}
							catch (InterruptedException ex) {
								Thread.currentThread().interrupt();
							}
						}
					}
				};
				ErrorLatency.measure(proxies, load, warmUp, rounds);
				ErrorLatency.print(proxies);
			}
			finally {
				if (nginx != null) {
					nginx.close();
				}
			}
		}
	}

	private static String[] concat(String[] first, String... more) {
		List<String> all = new ArrayList<>(List.of(first));
		all.addAll(List.of(more));
		return all.toArray(String[]::new);
	}

	private static String cpus() {
		try {
			return new String(new ProcessBuilder("nproc", "--all").start().getInputStream().readAllBytes()).trim()
					+ " CPUs";
		}
		catch (IOException ex) {
			return Runtime.getRuntime().availableProcessors() + " CPUs available";
		}
	}

	private static String[] appJvm() {
		List<String> options = new ArrayList<>(List.of("-Xms512m", "-Xmx512m"));
		String extra = System.getenv("BENCH_APP_JVM_OPTS");
		if (extra != null && !extra.isBlank()) {
			options.addAll(List.of(extra.trim().split("\\s+")));
		}
		return options.toArray(String[]::new);
	}

	private static void ratios(String sampleJar, Path out, int launches, int runs, int duration, int clients)
			throws Exception {
		System.out.printf(Locale.ROOT,
				"%n== Overhead: sample proxy with Hangup vs --hangup.enabled=false "
						+ "(%d launches x %d runs x %d s per body and mode, %d keep-alive connections)%n",
				launches, runs, duration, clients);
		printRatios(launch(launches, () -> ratiosOfOneLaunch(sampleJar, out, runs, duration, clients)));
	}

	private static Map<String, List<double[]>> ratiosOfOneLaunch(String sampleJar, Path out, int runs, int duration,
			int clients) throws Exception {
		try (FastUpstream upstream = new FastUpstream(); Modes modes = Modes.start(sampleJar, upstream, out, "")) {
			AppProcess enabled = modes.enabled();
			AppProcess disabled = modes.disabled();
			modes.warmUp(List.of("/small", "/big"), clients);
			Map<String, List<double[]>> ratios = new LinkedHashMap<>();
			for (int run = 1; run <= runs; run++) {
				for (String path : List.of("/small", "/big")) {
					// Alternate which mode goes first, so that neither always gets the
					// warmer machine.
					List<AppProcess> order = (run % 2 == 1) ? List.of(enabled, disabled) : List.of(disabled, enabled);
					Map<String, LoadGenerator.Result> results = new LinkedHashMap<>();
					Map<String, Double> cpu = new LinkedHashMap<>();
					Map<String, Double> allocated = new LinkedHashMap<>();
					for (AppProcess app : order) {
						LoadGenerator.run(app.port(), path, clients, 1000, 0, null);
						AppProcess.Usage before = app.usage();
						LoadGenerator.Result result = LoadGenerator.run(app.port(), path, clients, duration * 1000L, 0,
								null);
						AppProcess.Usage used = app.usage().since(before);
						results.put(app.name(), result);
						cpu.put(app.name(), used.cpuMicrosPer(result.requests()));
						allocated.put(app.name(), used.bytesPer(result.requests()));
						System.out.printf(Locale.ROOT,
								"  run %d %-6s %-8s %8.0f req/s  p50 %6.2f ms  p99 %6.2f ms  errors %d  "
										+ "CPU %5.1f us/request (%.2f CPUs busy)  heap %6.0f B/request%n",
								run, path, app.name(), result.throughput(), result.p50Millis(), result.p99Millis(),
								result.errors(), cpu.get(app.name()), used.cpuSeconds() / duration,
								allocated.get(app.name()));
					}
					ratios.computeIfAbsent(path, (key) -> new ArrayList<>())
						.add(row(results.get(enabled.name()), results.get(disabled.name()), cpu.get(enabled.name()),
								cpu.get(disabled.name()), allocated.get(enabled.name()),
								allocated.get(disabled.name())));
				}
			}
			return ratios;
		}
	}

	/**
	 * Both applications loaded at the same time, on the same CPU, each by its own
	 * clients: the host's noise (other tenants, a slower moment) then falls on both
	 * alike, where loading one after the other compares moments as much as modes. Their
	 * CPU per request is the precise figure; their throughput ratio also moves with how
	 * the kernel shares the CPU between the two processes.
	 */
	private static void sideBySide(String sampleJar, Path out, int launches, int runs, int duration, int clients)
			throws Exception {
		System.out.printf(Locale.ROOT,
				"%n== Overhead side by side: both loaded at once on the same CPU "
						+ "(%d launches x %d runs x %d s per body, %d keep-alive connections each)%n",
				launches, runs, duration, clients);
		printRatios(launch(launches, () -> sideBySideOfOneLaunch(sampleJar, out, runs, duration, clients)));
	}

	/** One launch's rows per body path, from a fresh pair of applications. */
	@FunctionalInterface
	private interface Launch {

		Map<String, List<double[]>> measure() throws Exception;

	}

	private static List<Map<String, List<double[]>>> launch(int launches, Launch launch) throws Exception {
		List<Map<String, List<double[]>>> all = new ArrayList<>();
		for (int i = 1; i <= launches; i++) {
			System.out.printf(Locale.ROOT, "  launch %d of %d%n", i, launches);
			all.add(launch.measure());
		}
		return all;
	}

	private static Map<String, List<double[]>> sideBySideOfOneLaunch(String sampleJar, Path out, int runs, int duration,
			int clients) throws Exception {
		ExecutorService loads = Executors.newFixedThreadPool(2);
		try (FastUpstream upstream = new FastUpstream(); Modes modes = Modes.start(sampleJar, upstream, out, "side-")) {
			AppProcess enabled = modes.enabled();
			AppProcess disabled = modes.disabled();
			modes.warmUp(List.of("/small", "/big"), clients);
			Map<String, List<double[]>> ratios = new LinkedHashMap<>();
			for (int run = 1; run <= runs; run++) {
				for (String path : List.of("/small", "/big")) {
					together(loads, enabled, disabled, path, clients, 1000);
					AppProcess.Usage enabledBefore = enabled.usage();
					AppProcess.Usage disabledBefore = disabled.usage();
					LoadGenerator.Result[] results = together(loads, enabled, disabled, path, clients,
							duration * 1000L);
					AppProcess.Usage enabledUsed = enabled.usage().since(enabledBefore);
					AppProcess.Usage disabledUsed = disabled.usage().since(disabledBefore);
					double on = enabledUsed.cpuMicrosPer(results[0].requests());
					double off = disabledUsed.cpuMicrosPer(results[1].requests());
					double heapOn = enabledUsed.bytesPer(results[0].requests());
					double heapOff = disabledUsed.bytesPer(results[1].requests());
					System.out.printf(Locale.ROOT,
							"  run %d %-6s enabled %6.0f req/s p99 %5.2f ms CPU %5.1f us heap %6.0f B, "
									+ "disabled %6.0f req/s p99 %5.2f ms CPU %5.1f us heap %6.0f B, errors %d%n",
							run, path, results[0].throughput(), results[0].p99Millis(), on, heapOn,
							results[1].throughput(), results[1].p99Millis(), off, heapOff,
							results[0].errors() + results[1].errors());
					ratios.computeIfAbsent(path, (key) -> new ArrayList<>())
						.add(row(results[0], results[1], on, off, heapOn, heapOff));
				}
			}
			return ratios;
		}
		finally {
			loads.shutdownNow();
		}
	}

	/**
	 * One run's figures, in the columns {@link #printRatios} reads: ratios of throughput,
	 * p50 and p99, both throughputs and p99s, then the ratio and both values of the CPU
	 * per request, then of the heap allocated per request.
	 */
	private static double[] row(LoadGenerator.Result on, LoadGenerator.Result off, double cpuOn, double cpuOff,
			double heapOn, double heapOff) {
		return new double[] { on.throughput() / off.throughput(), on.p50Millis() / off.p50Millis(),
				on.p99Millis() / off.p99Millis(), on.throughput(), off.throughput(), on.p99Millis(), off.p99Millis(),
				cpuOn / cpuOff, cpuOn, cpuOff, heapOn / heapOff, heapOn, heapOff };
	}

	private static LoadGenerator.Result[] together(ExecutorService loads, AppProcess first, AppProcess second,
			String path, int clients, long millis) throws Exception {
		Future<LoadGenerator.Result> one = loads
			.submit(() -> LoadGenerator.run(first.port(), path, clients, millis, 0, null));
		Future<LoadGenerator.Result> other = loads
			.submit(() -> LoadGenerator.run(second.port(), path, clients, millis, 0, null));
		return new LoadGenerator.Result[] { one.get(), other.get() };
	}

	/**
	 * Prints, per body, the spread of every run of every launch, then each launch's
	 * medians of the two targets: a launch's JIT compilation moves its runs together, so
	 * the pooled figure is the one to hold against a target, and the launches show how
	 * far one launch can stray.
	 */
	private static void printRatios(List<Map<String, List<double[]>>> launches) {
		int runs = launches.get(0).values().iterator().next().size();
		System.out.println();
		System.out.printf(Locale.ROOT, "  ratios enabled/disabled, min / median / max over %d launches x %d runs:%n",
				launches.size(), runs);
		for (String path : launches.get(0).keySet()) {
			List<double[]> list = new ArrayList<>();
			launches.forEach((launch) -> list.addAll(launch.get(path)));
			String body = path.equals("/small") ? "64 B" : "16 KiB";
			System.out.printf(Locale.ROOT, "  %-7s throughput %s (target >= 0.98)   p50 %s   p99 %s (target <= 1.05)%n",
					body, Stats.spread(column(list, 0), "%.3f"), Stats.spread(column(list, 1), "%.3f"),
					Stats.spread(column(list, 2), "%.3f"));
			System.out.printf(Locale.ROOT,
					"  %-7s throughput enabled %s req/s, disabled %s req/s; p99 enabled %s ms, disabled %s ms%n", body,
					Stats.spread(column(list, 3), "%.0f"), Stats.spread(column(list, 4), "%.0f"),
					Stats.spread(column(list, 5), "%.2f"), Stats.spread(column(list, 6), "%.2f"));
			System.out.printf(Locale.ROOT, "  %-7s CPU per request %s (enabled %s us, disabled %s us)%n", body,
					Stats.spread(column(list, 7), "%.3f"), Stats.spread(column(list, 8), "%.1f"),
					Stats.spread(column(list, 9), "%.1f"));
			System.out.printf(Locale.ROOT, "  %-7s heap allocated per request %s (enabled %s B, disabled %s B)%n", body,
					Stats.spread(column(list, 10), "%.3f"), Stats.spread(column(list, 11), "%.0f"),
					Stats.spread(column(list, 12), "%.0f"));
			StringBuilder perLaunch = new StringBuilder();
			for (Map<String, List<double[]>> launch : launches) {
				List<double[]> rows = launch.get(path);
				perLaunch.append(String.format(Locale.ROOT, "  %.3f / %.3f", Stats.percentile(column(rows, 0), 50),
						Stats.percentile(column(rows, 2), 50)));
			}
			System.out.printf(Locale.ROOT, "  %-7s median of each launch, throughput / p99:%s%n", body, perLaunch);
		}
	}

	/**
	 * Loads the application for {@link #warmUpSeconds}, alternating between the paths in
	 * 5 s steps: the JIT compiler needs that long on a single CPU, and while it works
	 * throughput rises slowly enough to look stable. Then, for each path, runs 2 s
	 * windows until two in a row agree within 3% (at most 10 windows).
	 */
	private static void warmUp(AppProcess app, List<String> paths, int clients) throws InterruptedException {
		for (int elapsed = 0; elapsed < warmUpSeconds; elapsed += 5) {
			LoadGenerator.run(app.port(), paths.get((elapsed / 5) % paths.size()), clients, 5000, 0, null);
		}
		for (String path : paths) {
			double previous = 0;
			int window = 1;
			for (; window <= 10; window++) {
				double throughput = LoadGenerator.run(app.port(), path, clients, 2000, 0, null).throughput();
				if (previous > 0 && Math.abs(throughput - previous) / previous < 0.03) {
					break;
				}
				previous = throughput;
			}
			System.out.printf(Locale.ROOT, "  warm-up %-8s %-6s %d s, then %s%n", app.name(), path, warmUpSeconds,
					(window <= 10) ? "stable after " + window + " windows" : "not stable within 10 windows");
		}
	}

	/**
	 * The three series run interleaved, one cancel at a time with a {@link #SETTLE} pause
	 * after each, with both applications up: a burst of load from elsewhere on the
	 * machine then falls on all three alike, and the p99 ratio compares the paths rather
	 * than moments.
	 */
	private static void cancelLatency(String sampleJar, Path out, int cancels) throws Exception {
		System.out.printf(Locale.ROOT, "%n== Cancel propagation: client closes -> upstream sees its connection closed, "
				+ "or the caller blocked on the stopped call is released (%d cancels each, one at a time, the three "
				+ "paths in turn, %d ms apart)%n", cancels, SETTLE.toMillis());
		List<String> bench = AppProcess.java(System.getProperty("java.class.path"),
				"io.github.hangup.bench.app.BenchApplication", APP_JVM);
		try (FaultyUpstream upstream = new FaultyUpstream();
				AppProcess sample = sample("sample", sampleJar, upstream.url(), out.resolve("cancel-sample.log"));
				AppProcess app = AppProcess.start("bench app", pinned(bench),
						args("--bench.upstream-url=" + upstream.url()), out.resolve("cancel-bench.log"),
						Duration.ofSeconds(90))) {
			Series<Long> chain = new Series<>(sample, "/hold", PEER_CLOSED);
			Series<Long> detached = new Series<>(app, "/detached/hold", PEER_CLOSED);
			Series<Release> blocked = new Series<>(app, "/blocked/hold", RELEASED);
			List<Series<?>> all = List.of(chain, detached, blocked);
			// Warm-up, not measured.
			interleave(upstream, all, Math.max(50, cancels / 4), "w");
			all.forEach((series) -> series.ended().clear());
			interleave(upstream, all, cancels, "m");
			double chainP99 = printClosed("in-chain (sample proxy)", chain, cancels);
			printClosed("detached (subscribe(), Mono.never())", detached, cancels);
			printReleases(blocked, cancels, chainP99);
		}
	}

	/**
	 * Prints the time from the client's close to the upstream's connection closing;
	 * answers its p99.
	 */
	private static double printClosed(String label, Series<Long> series, int cancels) {
		double[] millis = series.ended()
			.stream()
			.mapToDouble((cancel) -> millis(cancel.closed(), cancel.end()))
			.toArray();
		System.out.printf(Locale.ROOT, "  %-38s %s  not propagated within 10 s: %d   (target p99 < 10 ms)%n", label,
				percentiles(millis), cancels - millis.length);
		return Stats.percentile(millis, 99);
	}

	/**
	 * Prints the time from the client's close to the upstream hearing from the bench app
	 * that the caller blocked on the stopped call was released with a
	 * {@link ClientCancelException}, its p99 against the in-chain one, and apart the
	 * marker's own delivery: from the release, stamped by the bench app, to the marker's
	 * arrival. Both clocks are {@link System#nanoTime()}, which on Linux reads one
	 * monotonic clock for every process; the order of the three times is checked.
	 */
	private static void printReleases(Series<Release> series, int cancels, double chainP99) {
		List<Double> released = new ArrayList<>();
		List<Double> inApp = new ArrayList<>();
		List<Double> delivery = new ArrayList<>();
		int other = 0;
		int outOfOrder = 0;
		for (Cancel<Release> cancel : series.ended()) {
			Release release = cancel.end();
			if (!release.with().equals(ClientCancelException.class.getName())) {
				other++;
			}
			else {
				released.add(millis(cancel.closed(), release.received()));
				inApp.add(millis(cancel.closed(), release.at()));
				delivery.add(millis(release.at(), release.received()));
				outOfOrder += (cancel.closed() <= release.at() && release.at() <= release.received()) ? 0 : 1;
			}
		}
		int missed = cancels - released.size() - other;
		double[] millis = Stats.of(released);
		double[] withoutMarker = Stats.of(inApp);
		System.out.printf(Locale.ROOT,
				"  %-38s %s  not released within 10 s: %d, with another outcome: %d   "
						+ "p99 / in-chain p99 %.2f (target <= 1)%n",
				"stopped-call release (block())", percentiles(millis), missed, other,
				Stats.percentile(millis, 99) / chainP99);
		System.out.printf(Locale.ROOT, "  %-38s %s  (released in the app -> marker received)%n",
				"  of which the marker", percentiles(Stats.of(delivery)));
		System.out.printf(Locale.ROOT,
				"  %-38s %s  (client closes -> released in the app; p99 / in-chain p99 %.2f; "
						+ "clocks out of order: %d)%n",
				"  release without the marker", percentiles(withoutMarker),
				Stats.percentile(withoutMarker, 99) / chainP99, outOfOrder);
	}

	/** One cancel of each series in turn, {@code count} times. */
	private static void interleave(FaultyUpstream upstream, List<Series<?>> all, int count, String prefix)
			throws Exception {
		for (int i = 0; i < count; i++) {
			for (Series<?> series : all) {
				series.cancel(upstream, prefix + i + "-" + series.path().hashCode());
				Thread.sleep(SETTLE.toMillis());
			}
		}
	}

	/** One cancel that ended: when the client closed, and how the upstream saw it end. */
	private record Cancel<T>(long closed, T end) {
	}

	/**
	 * Cancels of one path of one application, and what the upstream waits for to see one
	 * end.
	 */
	private record Series<T>(AppProcess app, String path, Function<Tracked, CompletableFuture<T>> end,
			List<Cancel<T>> ended) {

		Series(AppProcess app, String path, Function<Tracked, CompletableFuture<T>> end) {
			this(app, path, end, new ArrayList<>());
		}

		/**
		 * Sends one request, closes the client once the upstream has it, then waits up to
		 * 10 s for the upstream to see it end; keeps it if it did, the caller counts the
		 * others.
		 */
		void cancel(FaultyUpstream upstream, String id) throws Exception {
			Tracked tracked = upstream.tracked(id);
			try (RawHttp client = new RawHttp(this.app.port(), 10_000)) {
				client.send("GET", this.path + "?id=" + id, true);
				tracked.received.get(10, TimeUnit.SECONDS);
				long closed = System.nanoTime();
				client.close();
				this.ended.add(new Cancel<>(closed, this.end.apply(tracked).get(10, TimeUnit.SECONDS)));
			}
			catch (TimeoutException ex) {
				// Not within 10 s: counted by the caller.
			}
			finally {
				upstream.forget(id);
			}
		}

	}

	private static double millis(long fromNanos, long toNanos) {
		return (toNanos - fromNanos) / 1e6;
	}

	private static String percentiles(double[] millis) {
		return String.format(Locale.ROOT, "p50 %6.2f ms  p95 %6.2f ms  p99 %6.2f ms  max %6.2f ms",
				Stats.percentile(millis, 50), Stats.percentile(millis, 95), Stats.percentile(millis, 99),
				Stats.max(millis));
	}

	private static void storm(String sampleJar, Path out, int seconds, int clients) throws Exception {
		int abandoners = Math.max(1, Math.round(clients * 0.3f));
		int healthy = clients - abandoners;
		System.out.printf(Locale.ROOT,
				"%n== Cancel storm: %d healthy clients on the 64 B body, with and without %d "
						+ "clients (30%%) that abandon a 50 ms request after 5-20 ms; %d s each, Hangup enabled and "
						+ "disabled%n",
				healthy, abandoners, seconds);
		try (FastUpstream upstream = new FastUpstream();
				Modes modes = Modes.start(sampleJar, upstream, out, "storm-")) {
			Map<String, LoadGenerator.Result[]> results = new LinkedHashMap<>();
			for (AppProcess app : List.of(modes.enabled(), modes.disabled())) {
				warmUp(app, List.of("/small"), healthy);
				LoadGenerator.run(app.port(), "/delay?ms=50", abandoners, 2000, 0, null);
				AppProcess.Usage before = app.usage();
				LoadGenerator.Result calm = LoadGenerator.run(app.port(), "/small", healthy, seconds * 1000L, 0, null);
				AppProcess.Usage calmUsed = app.usage().since(before);
				double cancelsBefore = cancelsRecorded(app);
				before = app.usage();
				LoadGenerator.Result storm = LoadGenerator.run(app.port(), "/small", healthy, seconds * 1000L,
						abandoners, "/delay?ms=50");
				AppProcess.Usage stormUsed = app.usage().since(before);
				// What the storm's CPU time and heap hold beyond its healthy requests at
				// the calm cost.
				double perHealthy = calmUsed.cpuMicrosPer(calm.requests());
				double heapPerHealthy = calmUsed.bytesPer(calm.requests());
				double perAbandoned = (stormUsed.cpuMicrosPer(1) - storm.requests() * perHealthy) / storm.abandoned();
				double heapPerAbandoned = (stormUsed.bytesPer(1) - storm.requests() * heapPerHealthy)
						/ storm.abandoned();
				results.put(app.name(), new LoadGenerator.Result[] { calm, storm });
				System.out.printf(Locale.ROOT,
						"  %-8s without storm: %8.0f req/s  p50 %6.2f ms  p99 %6.2f ms  errors %d%n", app.name(),
						calm.throughput(), calm.p50Millis(), calm.p99Millis(), calm.errors());
				System.out.printf(Locale.ROOT,
						"  %-8s with storm:    %8.0f req/s  p50 %6.2f ms  p99 %6.2f ms  errors %d  "
								+ "(%d requests abandoned)%n",
						app.name(), storm.throughput(), storm.p50Millis(), storm.p99Millis(), storm.errors(),
						storm.abandoned());
				System.out
					.printf(Locale.ROOT, "  %-8s healthy p99 storm/calm %.2f, throughput storm/calm %.2f; CPU %.1f us "
							+ "per healthy request (calm), about %.0f us per abandoned request (storm); heap %.0f B per "
							+ "healthy request, about %.0f B per abandoned request%n", app.name(),
							storm.p99Millis() / calm.p99Millis(), storm.throughput() / calm.throughput(), perHealthy,
							perAbandoned, heapPerHealthy, heapPerAbandoned);
				if (app == modes.enabled()) {
					Map<String, Double> scrape = app.awaitPrometheus(
							(scraped) -> Soak.sum(scraped, "hangup_client_calls_active", Map.of()) == 0
									&& Soak.sum(scraped, "hangup_server_scopes_active", Map.of()) == 1,
							Duration.ofSeconds(20));
					System.out.printf(Locale.ROOT,
							"  %-8s %.0f CLIENT_CANCEL recorded for %d abandoned requests; in flight "
									+ "after the storm: calls %.0f, scopes %.0f (1 = the scrape)%n",
							app.name(), cancelsRecorded(app) - cancelsBefore, storm.abandoned(),
							Soak.sum(scrape, "hangup_client_calls_active", Map.of()),
							Soak.sum(scrape, "hangup_server_scopes_active", Map.of()));
				}
			}
			LoadGenerator.Result[] on = results.get("enabled");
			LoadGenerator.Result[] off = results.get("disabled");
			System.out.printf(Locale.ROOT,
					"  enabled/disabled under the storm: healthy throughput %.3f, p99 %.3f " + "(calm: %.3f, %.3f)%n",
					on[1].throughput() / off[1].throughput(), on[1].p99Millis() / off[1].p99Millis(),
					on[0].throughput() / off[0].throughput(), on[0].p99Millis() / off[0].p99Millis());
		}
	}

	private static double cancelsRecorded(AppProcess app) throws Exception {
		return Soak.sum(app.prometheus(), "http_server_hangups_seconds_count", Map.of("kind", "CLIENT_CANCEL"));
	}

	/** Prefixes a command with {@code taskset} when {@code --app-cpus} is given. */
	private static List<String> pinned(List<String> command) {
		if (appCpus == null) {
			return command;
		}
		List<String> pinned = new ArrayList<>(List.of("taskset", "-c", appCpus));
		pinned.addAll(command);
		return pinned;
	}

	/**
	 * The packaged sample app twice in front of one upstream: with the starter and with
	 * {@code --hangup.enabled=false} (with {@code --control}, both without).
	 */
	private record Modes(AppProcess enabled, AppProcess disabled) implements AutoCloseable {

		static Modes start(String sampleJar, FastUpstream upstream, Path out, String logPrefix) throws Exception {
			String[] first = control ? new String[] { "--hangup.enabled=false" } : new String[0];
			AppProcess enabled = sample("enabled", sampleJar, upstream.url(), out.resolve(logPrefix + "enabled.log"),
					first);
			try {
				return new Modes(enabled, sample("disabled", sampleJar, upstream.url(),
						out.resolve(logPrefix + "disabled.log"), "--hangup.enabled=false"));
			}
			catch (Exception ex) {
				enabled.close();
				throw ex;
			}
		}

		void warmUp(List<String> paths, int clients) throws InterruptedException {
			LoadBench.warmUp(this.enabled, paths, clients);
			LoadBench.warmUp(this.disabled, paths, clients);
		}

		@Override
		public void close() throws InterruptedException {
			try {
				this.disabled.close();
			}
			finally {
				this.enabled.close();
			}
		}

	}

	/**
	 * Starts the packaged sample app, pinned and quiet, in front of the given upstream.
	 */
	private static AppProcess sample(String name, String sampleJar, String upstreamUrl, Path log, String... extraArgs)
			throws IOException, InterruptedException {
		List<String> arguments = new ArrayList<>(List.of("--sample.upstream-url=" + upstreamUrl));
		arguments.addAll(List.of(extraArgs));
		// More arguments for one mode, to measure the cost of one feature or compare like
		// with like.
		String more = System.getenv(name.equals("enabled") ? "BENCH_ENABLED_ARGS" : "BENCH_DISABLED_ARGS");
		if (more != null && !more.isBlank()) {
			arguments.addAll(List.of(more.trim().split("\\s+")));
		}
		return AppProcess.start(name, pinned(AppProcess.javaJar(sampleJar, APP_JVM)),
				args(arguments.toArray(String[]::new)), log, Duration.ofSeconds(90));
	}

	/**
	 * The Spring MVC relay of {@code bench/mvc} ({@code RestClient} on the JDK client),
	 * on Tomcat or Jetty: its class path, without WebFlux, from the system property the
	 * script sets.
	 */
	private static AppProcess mvc(String name, String container, String upstreamUrl, Path log, String... extraArgs)
			throws IOException, InterruptedException {
		String classPath = System.getProperty("bench." + container + "-classpath", "");
		if (classPath.isEmpty()) {
			throw new IllegalStateException("No class path for " + container + ": run bench/load.sh, which builds it");
		}
		List<String> arguments = new ArrayList<>(List.of("--bench.upstream-url=" + upstreamUrl));
		arguments.addAll(List.of(extraArgs));
		return AppProcess.start(name,
				pinned(AppProcess.java(classPath, "io.github.hangup.bench.mvc.MvcBenchApplication", APP_JVM)),
				args(arguments.toArray(String[]::new)), log, Duration.ofSeconds(90));
	}

	/**
	 * The arguments, then those of {@link #QUIET} whose property they do not set already.
	 */
	private static List<String> args(String... args) {
		List<String> all = new ArrayList<>(List.of(args));
		for (String quiet : QUIET) {
			String key = quiet.substring(0, quiet.indexOf('=') + 1);
			if (all.stream().noneMatch((arg) -> arg.startsWith(key))) {
				all.add(quiet);
			}
		}
		return all;
	}

	private static double[] column(List<double[]> rows, int column) {
		return rows.stream().mapToDouble((row) -> row[column]).toArray();
	}

}
