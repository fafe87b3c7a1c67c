/**
 * Hang-up vocabulary: kinds, phases, sides, the classifier and the events every component
 * records.
 */
@NullMarked
package io.github.hangup;

import org.jspecify.annotations.NullMarked;
