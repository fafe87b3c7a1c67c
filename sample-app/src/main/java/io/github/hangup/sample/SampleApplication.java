package io.github.hangup.sample;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;

/**
 * Streaming reverse proxy that forwards every request outside the actuator endpoints to
 * an upstream chosen by path prefix. Without a configured upstream it starts an embedded
 * demo upstream that misbehaves on purpose.
 *
 * @since 0.1.0
 */
@SpringBootApplication
public class SampleApplication {

	/**
	 * Starts the sample.
	 * @param args the command-line arguments
	 */
	public static void main(String[] args) {
		SpringApplication.run(SampleApplication.class, args);
	}

}
