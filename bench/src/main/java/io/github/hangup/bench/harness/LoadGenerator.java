package io.github.hangup.bench.harness;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;

import org.HdrHistogram.Histogram;

/**
 * Closed-loop HTTP/1.1 load on keep-alive connections, one thread per connection, with
 * optional "abandoning" clients that send a request and close their connection before the
 * answer comes.
 */
public final class LoadGenerator {

	private LoadGenerator() {
	}

	/**
	 * Runs {@code clients} healthy connections (and {@code abandoners} abandoning ones)
	 * for the given time; answers what the healthy ones measured.
	 */
	public static Result run(int port, String path, int clients, long millis, int abandoners, String abandonPath)
			throws InterruptedException {
		long end = System.nanoTime() + millis * 1_000_000L;
		List<Histogram> histograms = new ArrayList<>();
		List<Thread> threads = new ArrayList<>();
		AtomicLong errors = new AtomicLong();
		AtomicLong abandoned = new AtomicLong();
		for (int i = 0; i < clients; i++) {
			Histogram histogram = new Histogram(60_000_000_000L, 3);
			histograms.add(histogram);
			threads.add(new Thread(() -> healthy(port, path, end, histogram, errors)));
		}
		for (int i = 0; i < abandoners; i++) {
			threads.add(new Thread(() -> abandon(port, abandonPath, end, abandoned, errors)));
		}
		long start = System.nanoTime();
		threads.forEach(Thread::start);
		for (Thread thread : threads) {
			thread.join();
		}
		double seconds = (System.nanoTime() - start) / 1e9;
		Histogram total = new Histogram(60_000_000_000L, 3);
		histograms.forEach(total::add);
		return new Result(total.getTotalCount() / seconds, total.getValueAtPercentile(50) / 1e6,
				total.getValueAtPercentile(99) / 1e6, total.getTotalCount(), errors.get(), abandoned.get());
	}

	private static void healthy(int port, String path, long end, Histogram histogram, AtomicLong errors) {
		RawHttp connection = null;
		while (System.nanoTime() < end) {
			try {
				if (connection == null) {
					connection = new RawHttp(port, 10_000);
				}
				long start = System.nanoTime();
				connection.send("GET", path, true);
				RawHttp.Head head = connection.readHead();
				if (head == null || head.status() != 200
						|| connection.readBody(head.contentLength()) != head.contentLength()) {
					throw new IOException("Unexpected answer " + head);
				}
				histogram.recordValue(System.nanoTime() - start);
			}
			catch (IOException ex) {
				errors.incrementAndGet();
				if (connection != null) {
					connection.close();
				}
				connection = null;
			}
		}
		if (connection != null) {
			connection.close();
		}
	}

	private static void abandon(int port, String path, long end, AtomicLong abandoned, AtomicLong errors) {
		Random random = ThreadLocalRandom.current();
		while (System.nanoTime() < end) {
			try (RawHttp connection = new RawHttp(port, 10_000)) {
				connection.send("GET", path, true);
				// Gives up after 5 to 20 ms, before the upstream's delayed answer.
				Thread.sleep(5 + random.nextInt(16));
				abandoned.incrementAndGet();
			}
			catch (IOException ex) {
				errors.incrementAndGet();
			}
			catch (InterruptedException ex) {
				Thread.currentThread().interrupt();
				return;
			}
		}
	}

	/** Throughput of the healthy clients, their latency percentiles in ms, and counts. */
	public record Result(double throughput, double p50Millis, double p99Millis, long requests, long errors,
			long abandoned) {
	}

}
