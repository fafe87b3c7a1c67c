package io.github.hangup.bench.harness;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The {@code wrk} load generator (C, one thread, keep-alive connections in a closed
 * loop), run through {@code bash} so that its CPU time is read from the shell's
 * {@code times}.
 */
final class Wrk {

	private static final Pattern REQUESTS = Pattern.compile("(\\d+) requests in ([\\d.]+)(us|ms|s|m)");

	private static final Pattern PERCENTILE = Pattern.compile("^\\s*(50|99)(?:\\.000)?%\\s+([\\d.]+)(us|ms|s)\\s*$",
			Pattern.MULTILINE);

	private static final Pattern NON_2XX = Pattern.compile("Non-2xx or 3xx responses: (\\d+)");

	private static final Pattern SOCKET_ERRORS = Pattern
		.compile("Socket errors: connect (\\d+), read (\\d+), write (\\d+), timeout (\\d+)");

	/** {@code times}: the shell's own user and system time, then its children's. */
	private static final Pattern TIMES = Pattern.compile("(\\d+)m([\\d.]+)s (\\d+)m([\\d.]+)s");

	private Wrk() {
	}

	/**
	 * One run's figures.
	 *
	 * @param requests requests answered
	 * @param seconds how long wrk says it ran
	 * @param p50Millis median latency
	 * @param p99Millis 99th percentile latency
	 * @param errors answers other than 2xx or 3xx, and socket errors
	 * @param cpuSeconds CPU time wrk used (user and system)
	 */
	record Result(long requests, double seconds, double p50Millis, double p99Millis, long errors, double cpuSeconds) {

		double throughput() {
			return this.requests / this.seconds;
		}

	}

	/** Whether {@code wrk} is on the path. */
	static boolean available() {
		try {
			return new ProcessBuilder("bash", "-c", "command -v wrk").start().waitFor() == 0;
		}
		catch (IOException ex) {
			return false;
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			return false;
		}
	}

	/**
	 * Loads {@code url} with {@code connections} keep-alive connections for
	 * {@code seconds}.
	 */
	static Result run(String url, int connections, int seconds) throws IOException, InterruptedException {
		String command = String.format(Locale.ROOT, "wrk -t1 -c%d -d%ds --timeout 5s --latency %s; times", connections,
				seconds, url);
		Process process = new ProcessBuilder(List.of("bash", "-c", command)).redirectErrorStream(true).start();
		String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
		if (process.waitFor() != 0) {
			throw new IOException("wrk failed: " + output);
		}
		return parse(output);
	}

	static Result parse(String output) throws IOException {
		Matcher requests = REQUESTS.matcher(output);
		if (!requests.find()) {
			throw new IOException("No request count in wrk's output: " + output);
		}
		double p50 = Double.NaN;
		double p99 = Double.NaN;
		Matcher percentile = PERCENTILE.matcher(output);
		while (percentile.find()) {
			double millis = millis(Double.parseDouble(percentile.group(2)), percentile.group(3));
			if (percentile.group(1).equals("50")) {
				p50 = millis;
			}
			else {
				p99 = millis;
			}
		}
		long errors = 0;
		Matcher non2xx = NON_2XX.matcher(output);
		if (non2xx.find()) {
			errors += Long.parseLong(non2xx.group(1));
		}
		Matcher socket = SOCKET_ERRORS.matcher(output);
		if (socket.find()) {
			for (int i = 1; i <= 4; i++) {
				errors += Long.parseLong(socket.group(i));
			}
		}
		double cpu = Double.NaN;
		Matcher times = TIMES.matcher(output);
		// The second line of times holds the children's: wrk's.
		if (times.find() && times.find()) {
			cpu = Long.parseLong(times.group(1)) * 60 + Double.parseDouble(times.group(2))
					+ Long.parseLong(times.group(3)) * 60 + Double.parseDouble(times.group(4));
		}
		return new Result(Long.parseLong(requests.group(1)),
				millis(Double.parseDouble(requests.group(2)), requests.group(3)) / 1000, p50, p99, errors, cpu);
	}

	private static double millis(double value, String unit) {
		return switch (unit) {
			case "us" -> value / 1000;
			case "ms" -> value;
			case "s" -> value * 1000;
			case "m" -> value * 60_000;
			default -> throw new IllegalArgumentException(unit);
		};
	}

}
