/**
 * Sample application: a small streaming reverse proxy built on the Hangup starter.
 */
@NullMarked
package io.github.hangup.sample;

import org.jspecify.annotations.NullMarked;
