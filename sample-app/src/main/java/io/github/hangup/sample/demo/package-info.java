/**
 * Embedded demo upstream whose endpoints misbehave on purpose, so that hang-ups can be
 * provoked through the proxy without any other server.
 */
@NullMarked
package io.github.hangup.sample.demo;

import org.jspecify.annotations.NullMarked;
