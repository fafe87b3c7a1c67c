/**
 * Reverse proxy: routing, header hygiene and streaming relay to the upstreams.
 */
@NullMarked
package io.github.hangup.sample.proxy;

import org.jspecify.annotations.NullMarked;
