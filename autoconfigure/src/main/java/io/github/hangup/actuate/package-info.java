/**
 * Actuator endpoint listing hang-ups: totals since start and the most recent events.
 */
@NullMarked
package io.github.hangup.actuate;

import org.jspecify.annotations.NullMarked;
