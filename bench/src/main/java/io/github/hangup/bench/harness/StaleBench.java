package io.github.hangup.bench.harness;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

import io.github.hangup.bench.harness.RawHttp.Head;

/**
 * Requests failed per 1,000 against an upstream that drops keep-alive connections idle
 * for 50 ms or more without a word (as a load balancer or NAT forgets a flow): the bench
 * proxy with Hangup and with {@code --hangup.enabled=false}, in the same run, with the
 * same request pattern. Clients pause a random 0-100 ms between their requests, so that
 * about half of the proxy's pooled connections sit idle long enough to go stale.
 * <p>
 * Usage: {@code bench/stale.sh [--requests N] [--workers N] [--seed N]}
 */
public final class StaleBench {

	private StaleBench() {
	}

	public static void main(String[] args) throws Exception {
		int requests = 2_000;
		int workers = 4;
		long seed = 20261202L;
		Path out = Path.of("target/stale");
		for (int i = 0; i < args.length; i++) {
			switch (args[i]) {
				case "--requests" -> requests = Integer.parseInt(args[++i]);
				case "--workers" -> workers = Integer.parseInt(args[++i]);
				case "--seed" -> seed = Long.parseLong(args[++i]);
				case "--out" -> out = Path.of(args[++i]);
				default -> throw new IllegalArgumentException("Unknown argument " + args[i]);
			}
		}
		Result with;
		Result without;
		try (FaultyUpstream upstream = new FaultyUpstream()) {
			with = run("enabled", upstream, true, requests, workers, seed, out);
			without = run("disabled", upstream, false, requests, workers, seed, out);
		}
		System.out.println();
		System.out.printf(Locale.ROOT, "== Stale keep-alive connections: %d requests, %d clients, seed %d%n", requests,
				workers, seed);
		System.out.printf(Locale.ROOT, "  %-24s %10s %10s %10s%n", "", "failed", "per 1,000", "retried");
		with.print("with Hangup");
		without.print("hangup.enabled=false");
	}

	private static Result run(String name, FaultyUpstream upstream, boolean hangup, int requests, int workers,
			long seed, Path out) throws Exception {
		List<String> command = AppProcess.java(System.getProperty("java.class.path"),
				"io.github.hangup.bench.app.BenchApplication", "-Xms256m", "-Xmx256m");
		List<String> appArgs = List.of("--bench.upstream-url=" + upstream.url(),
				"--bench.refused-url=http://127.0.0.1:" + AppProcess.freePort(),
				"--logging.level.io.github.hangup.Hangups=error", "--hangup.enabled=" + hangup);
		try (AppProcess app = AppProcess.start("bench proxy (" + name + ")", command, appArgs,
				out.resolve(name + ".log"), Duration.ofSeconds(90))) {
			AtomicInteger failed = new AtomicInteger();
			AtomicInteger left = new AtomicInteger(requests);
			ExecutorService threads = Executors.newFixedThreadPool(workers);
			try {
				List<Future<?>> running = new ArrayList<>();
				for (int w = 0; w < workers; w++) {
					SplittableRandom random = new SplittableRandom(seed + w);
					running.add(threads.submit(() -> {
						while (left.getAndDecrement() > 0) {
							Thread.sleep(random.nextInt(101));
							try (RawHttp client = new RawHttp(app.port(), 10_000)) {
								client.send("GET", "/stale", false);
								Head head = client.readHead();
								if (head == null || head.status() != 200) {
									failed.incrementAndGet();
								}
							}
						}
						return null;
					}));
				}
				for (Future<?> worker : running) {
					worker.get();
				}
			}
			finally {
				threads.shutdownNow();
			}
			Map<String, Double> scrape = app.prometheus();
			double retried = Soak.sum(scrape, "http_client_retries_total", Map.of());
			return new Result(requests, failed.get(), (long) retried);
		}
	}

	private record Result(int requests, int failed, long retried) {

		void print(String name) {
			System.out.printf(Locale.ROOT, "  %-24s %10d %10.1f %10d%n", name, this.failed,
					1000.0 * this.failed / this.requests, this.retried);
		}

	}

}
