/**
 * Inbound side: the WebFlux filter that detects client cancels and the exception handler
 * that answers upstream hang-ups with 502/504.
 */
@NullMarked
package io.github.hangup.server;

import org.jspecify.annotations.NullMarked;
