package io.github.hangup.bench.harness;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/** Percentiles and spreads for reports. */
public final class Stats {

	private Stats() {
	}

	/** The nearest-rank percentile of the values, which need not be sorted. */
	public static double percentile(double[] values, double percent) {
		if (values.length == 0) {
			return Double.NaN;
		}
		double[] sorted = values.clone();
		Arrays.sort(sorted);
		int rank = (int) Math.ceil(percent / 100.0 * sorted.length);
		return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
	}

	public static double[] of(List<Double> values) {
		return values.stream().mapToDouble(Double::doubleValue).toArray();
	}

	/** {@code min / median / max} of the values. */
	public static String spread(double[] values, String format) {
		return String.format(Locale.ROOT, format + " / " + format + " / " + format, min(values), percentile(values, 50),
				max(values));
	}

	public static double min(double[] values) {
		return Arrays.stream(values).min().orElse(Double.NaN);
	}

	public static double max(double[] values) {
		return Arrays.stream(values).max().orElse(Double.NaN);
	}

	public static double median(double[] values) {
		double[] sorted = values.clone();
		Arrays.sort(sorted);
		int n = sorted.length;
		if (n == 0) {
			return Double.NaN;
		}
		return (n % 2 == 1) ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
	}

}
