/**
 * Auto-configuration, properties and wiring; the library packages do not depend on it.
 */
@NullMarked
package io.github.hangup.autoconfigure;

import org.jspecify.annotations.NullMarked;
