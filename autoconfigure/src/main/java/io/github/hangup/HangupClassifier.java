package io.github.hangup;

import org.jspecify.annotations.Nullable;

/**
 * Decides whether an error is a hang-up and of which kind. Declare a bean of this type to
 * map your own exceptions; delegate to {@link DefaultHangupClassifier} for the rest.
 *
 * @since 0.1.0
 */
@FunctionalInterface
public interface HangupClassifier {

	/**
	 * Classify an error.
	 * @param error the error, possibly wrapping the real cause
	 * @param side the side that observed it: the same {@code IOException} means the
	 * inbound client left when a server write fails, and an upstream reset when a client
	 * read fails
	 * @return the kind, or {@code null} when the error is not a hang-up
	 */
	@Nullable HangupKind classify(Throwable error, HangupSide side);

}
