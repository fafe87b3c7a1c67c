/**
 * Outbound side for the blocking clients, {@code RestClient} and {@code RestTemplate}:
 * the interceptor that classifies, counts and scopes their calls.
 */
@NullMarked
package io.github.hangup.client.blocking;

import org.jspecify.annotations.NullMarked;
