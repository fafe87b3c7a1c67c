/**
 * Outbound side: the WebClient filter that applies a response timeout, translates
 * upstream failures into typed exceptions and records outbound hang-ups.
 */
@NullMarked
package io.github.hangup.client;

import org.jspecify.annotations.NullMarked;
