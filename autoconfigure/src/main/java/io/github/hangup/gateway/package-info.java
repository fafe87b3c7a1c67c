/**
 * Spring Cloud Gateway: the proxied call that Gateway makes with Reactor Netty's
 * {@code HttpClient} (not a {@code WebClient}) classified, recorded and stopped like any
 * other outbound call.
 */
@NullMarked
package io.github.hangup.gateway;

import org.jspecify.annotations.NullMarked;
