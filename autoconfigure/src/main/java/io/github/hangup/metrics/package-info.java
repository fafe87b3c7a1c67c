/**
 * Micrometer meters for hang-ups.
 */
@NullMarked
package io.github.hangup.metrics;

import org.jspecify.annotations.NullMarked;
