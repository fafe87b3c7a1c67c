package io.github.hangup.bench.harness;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

import javax.management.MBeanServerConnection;
import javax.management.ObjectName;
import javax.management.remote.JMXConnector;
import javax.management.remote.JMXConnectorFactory;
import javax.management.remote.JMXServiceURL;

import com.sun.tools.attach.VirtualMachine;
import org.jspecify.annotations.Nullable;

/**
 * An application under test in a JVM of its own, its output in a log file.
 */
public final class AppProcess implements AutoCloseable {

	private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

	/** USER_HZ, the unit of the CPU times in {@code /proc/PID/stat}: 100 on Linux. */
	private static final int CLOCK_TICKS = 100;

	private final String name;

	private final Process process;

	private final int port;

	private final Path log;

	private @Nullable JMXConnector jmx;

	private AppProcess(String name, Process process, int port, Path log) {
		this.name = name;
		this.process = process;
		this.port = port;
		this.log = log;
	}

	/**
	 * Starts an application and waits until its health endpoint answers UP.
	 * @param command the command up to (excluding) the application arguments
	 * @param args the application arguments; {@code --server.port} is added
	 */
	public static AppProcess start(String name, List<String> command, List<String> args, Path log,
			Duration startTimeout) throws IOException, InterruptedException {
		int port = freePort();
		List<String> full = new ArrayList<>(command);
		full.addAll(args);
		full.add("--server.port=" + port);
		Files.createDirectories(log.getParent());
		Process process = new ProcessBuilder(full).redirectErrorStream(true).redirectOutput(log.toFile()).start();
		AppProcess app = new AppProcess(name, process, port, log);
		long deadline = System.nanoTime() + startTimeout.toNanos();
		while (true) {
			if (!process.isAlive()) {
				throw new IllegalStateException(
						name + " exited with " + process.exitValue() + " during start-up, see " + log);
			}
			try {
				HttpResponse<String> health = HTTP.send(
						HttpRequest.newBuilder(app.uri("/actuator/health")).timeout(Duration.ofSeconds(2)).build(),
						HttpResponse.BodyHandlers.ofString());
				if (health.statusCode() == 200 && health.body().contains("UP")) {
					return app;
				}
			}
			catch (IOException ex) {
				// Not listening yet.
			}
			if (System.nanoTime() > deadline) {
				app.close();
				throw new IllegalStateException(name + " not ready within " + startTimeout + ", see " + log);
			}
			TimeUnit.MILLISECONDS.sleep(100);
		}
	}

	/** A JVM command line for a main class on the given class path. */
	public static List<String> java(String classPath, String mainClass, String... jvmOptions) {
		List<String> command = new ArrayList<>();
		command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
		command.addAll(List.of(jvmOptions));
		command.add("-cp");
		command.add(classPath);
		command.add(mainClass);
		return command;
	}

	/** A JVM command line for an executable jar. */
	public static List<String> javaJar(String jar, String... jvmOptions) {
		List<String> command = new ArrayList<>();
		command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
		command.addAll(List.of(jvmOptions));
		command.add("-jar");
		command.add(jar);
		return command;
	}

	public static int freePort() throws IOException {
		try (ServerSocket socket = new ServerSocket()) {
			socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
			return socket.getLocalPort();
		}
	}

	public int port() {
		return this.port;
	}

	public long pid() {
		return this.process.pid();
	}

	/**
	 * CPU time (user and system) the process has used so far, in seconds, from
	 * {@code /proc}; {@code NaN} where there is no {@code /proc}.
	 */
	public double cpuSeconds() {
		try {
			String stat = Files.readString(Path.of("/proc", Long.toString(pid()), "stat"));
			// Fields after the command name, which may hold spaces: state is field 3,
			// utime 14, stime 15.
			String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
			return (Long.parseLong(fields[11]) + Long.parseLong(fields[12])) / (double) CLOCK_TICKS;
		}
		catch (IOException | RuntimeException ex) {
			return Double.NaN;
		}
	}

	/**
	 * Heap bytes the process has allocated so far, over all its threads, read through the
	 * platform MBean server of the process (attached on first use); {@code -1} where the
	 * JVM cannot tell.
	 */
	public long allocatedBytes() {
		try {
			if (this.jmx == null) {
				VirtualMachine vm = VirtualMachine.attach(Long.toString(pid()));
				try {
					this.jmx = JMXConnectorFactory.connect(new JMXServiceURL(vm.startLocalManagementAgent()));
				}
				finally {
					vm.detach();
				}
			}
			MBeanServerConnection server = this.jmx.getMBeanServerConnection();
			Object bytes = server.getAttribute(new ObjectName("java.lang:type=Threading"), "TotalThreadAllocatedBytes");
			return ((Number) bytes).longValue();
		}
		catch (Exception ex) {
			return -1;
		}
	}

	/**
	 * What the process has used so far; subtract an earlier reading with
	 * {@link Usage#since}.
	 */
	public Usage usage() {
		return new Usage(cpuSeconds(), allocatedBytes());
	}

	/**
	 * CPU time and heap allocated by the process, so far or between two readings.
	 *
	 * @param cpuSeconds CPU time, {@code NaN} where unknown
	 * @param allocatedBytes heap allocated, {@code -1} where unknown
	 */
	public record Usage(double cpuSeconds, long allocatedBytes) {

		/** The usage between an earlier reading and this one. */
		public Usage since(Usage before) {
			boolean known = this.allocatedBytes >= 0 && before.allocatedBytes >= 0;
			return new Usage(this.cpuSeconds - before.cpuSeconds,
					known ? this.allocatedBytes - before.allocatedBytes : -1);
		}

		public double cpuMicrosPer(long requests) {
			return this.cpuSeconds * 1e6 / requests;
		}

		/** Heap bytes per request; {@code NaN} where the JVM cannot tell. */
		public double bytesPer(long requests) {
			return (this.allocatedBytes < 0) ? Double.NaN : this.allocatedBytes / (double) requests;
		}

	}

	public Path log() {
		return this.log;
	}

	public URI uri(String path) {
		return URI.create("http://127.0.0.1:" + this.port + path);
	}

	public String get(String path) throws IOException, InterruptedException {
		HttpResponse<String> response = HTTP.send(
				HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(30)).build(),
				HttpResponse.BodyHandlers.ofString());
		if (response.statusCode() != 200) {
			throw new IOException("GET " + path + " answered " + response.statusCode());
		}
		return response.body();
	}

	/** Scrapes {@code /actuator/prometheus}: series (name and labels) to value. */
	public Map<String, Double> prometheus() throws IOException, InterruptedException {
		Map<String, Double> series = new HashMap<>();
		for (String line : get("/actuator/prometheus").split("\n")) {
			if (line.isBlank() || line.startsWith("#")) {
				continue;
			}
			int space = line.lastIndexOf(' ');
			series.put(line.substring(0, space), Double.parseDouble(line.substring(space + 1)));
		}
		return series;
	}

	/**
	 * Polls the scrape until the condition holds or the deadline passes; answers the last
	 * scrape.
	 */
	public Map<String, Double> awaitPrometheus(Predicate<Map<String, Double>> condition, Duration timeout)
			throws IOException, InterruptedException {
		long deadline = System.nanoTime() + timeout.toNanos();
		Map<String, Double> scrape = prometheus();
		while (!condition.test(scrape) && System.nanoTime() < deadline) {
			TimeUnit.MILLISECONDS.sleep(100);
			scrape = prometheus();
		}
		return scrape;
	}

	public String name() {
		return this.name;
	}

	@Override
	public void close() throws InterruptedException {
		if (this.jmx != null) {
			try {
				this.jmx.close();
			}
			catch (IOException ex) {
				// The process is stopped next anyway.
			}
		}
		this.process.destroy();
		if (!this.process.waitFor(20, TimeUnit.SECONDS)) {
			this.process.destroyForcibly();
			this.process.waitFor(10, TimeUnit.SECONDS);
		}
	}

}
