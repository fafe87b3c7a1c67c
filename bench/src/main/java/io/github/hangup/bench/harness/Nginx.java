package io.github.hangup.bench.harness;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.jspecify.annotations.Nullable;

/**
 * nginx as a reverse proxy in front of the same upstream, the yardstick of the error
 * latencies: one worker process, keep-alive upstream connections, started only when an
 * {@code nginx} binary is on the path ({@code apt-get install nginx-light}).
 */
final class Nginx implements AutoCloseable {

	private final Process process;

	private final int port;

	private Nginx(Process process, int port) {
		this.process = process;
		this.port = port;
	}

	/** The nginx binary on the path, or {@code null}. */
	static @Nullable Path binary() {
		for (String dir : List.of("/usr/sbin", "/usr/local/sbin", "/usr/bin", "/usr/local/bin")) {
			Path nginx = Path.of(dir, "nginx");
			if (Files.isExecutable(nginx)) {
				return nginx;
			}
		}
		return null;
	}

	/**
	 * Starts nginx proxying {@code /refused/} to {@code refusedUrl} and everything else
	 * to {@code upstreamUrl}; {@code cpus} is a taskset list, or {@code null}.
	 */
	static Nginx start(Path binary, String upstreamUrl, String refusedUrl, @Nullable String cpus, Path dir)
			throws IOException, InterruptedException {
		int port = AppProcess.freePort();
		Files.createDirectories(dir.resolve("logs"));
		String conf = """
				worker_processes 1;
				error_log %1$s/logs/error.log error;
				pid %1$s/nginx.pid;
				events { worker_connections 1024; }
				http {
				  access_log off;
				  upstream backend { server %2$s; keepalive 32; }
				  upstream refused { server %3$s; }
				  server {
				    listen 127.0.0.1:%4$d;
				    location /refused/ { proxy_pass http://refused; proxy_next_upstream off; }
				    location / {
				      proxy_pass http://backend;
				      proxy_http_version 1.1;
				      proxy_set_header Connection "";
				      proxy_next_upstream off;
				    }
				  }
				}
				""".formatted(dir, hostPort(upstreamUrl), hostPort(refusedUrl), port);
		Path file = dir.resolve("nginx.conf");
		Files.writeString(file, conf);
		List<String> command = new ArrayList<>();
		if (cpus != null) {
			command.addAll(List.of("taskset", "-c", cpus));
		}
		command.addAll(List.of(binary.toString(), "-p", dir.toString(), "-c", file.toString(), "-g", "daemon off;"));
		Process process = new ProcessBuilder(command).redirectErrorStream(true)
			.redirectOutput(dir.resolve("logs/stdout.log").toFile())
			.start();
		Nginx nginx = new Nginx(process, port);
		long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
		while (true) {
			try (Socket socket = new Socket()) {
				socket.connect(new InetSocketAddress("127.0.0.1", port), 500);
				return nginx;
			}
			catch (IOException ex) {
				if (!process.isAlive() || System.nanoTime() > deadline) {
					nginx.close();
					throw new IllegalStateException("nginx did not start, see " + dir.resolve("logs"));
				}
				TimeUnit.MILLISECONDS.sleep(50);
			}
		}
	}

	private static String hostPort(String url) {
		return url.replaceFirst("^http://", "");
	}

	/** CPU time of the master and its workers so far, in seconds, from {@code /proc}. */
	double cpuSeconds() {
		double seconds = cpuSeconds(this.process.pid());
		try {
			String children = Files.readString(Path.of("/proc", Long.toString(this.process.pid()), "task",
					Long.toString(this.process.pid()), "children"));
			for (String child : children.trim().split("\\s+")) {
				if (!child.isEmpty()) {
					seconds += cpuSeconds(Long.parseLong(child));
				}
			}
		}
		catch (IOException | RuntimeException ex) {
			// Without /proc: the master's alone.
		}
		return seconds;
	}

	private static double cpuSeconds(long pid) {
		try {
			String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
			String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
			return (Long.parseLong(fields[11]) + Long.parseLong(fields[12])) / 100.0;
		}
		catch (IOException | RuntimeException ex) {
			return 0;
		}
	}

	int port() {
		return this.port;
	}

	@Override
	public void close() throws InterruptedException {
		this.process.destroy();
		if (!this.process.waitFor(10, TimeUnit.SECONDS)) {
			this.process.destroyForcibly();
		}
	}

}
