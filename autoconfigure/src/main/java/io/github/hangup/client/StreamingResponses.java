package io.github.hangup.client;

import java.time.Duration;
import java.util.List;

import org.jspecify.annotations.Nullable;

import org.springframework.http.MediaType;
import org.springframework.util.Assert;

/**
 * Which upstream responses are streams of events, and how long such a stream may stay
 * silent between two of its chunks. A stream's silences are its nature (an LLM's tokens
 * while the model thinks, a notification feed, a long poll), so by default none of them
 * is a timeout; the wait for the response head is, as for every call.
 *
 * @since 0.4.0
 */
public final class StreamingResponses {

	/**
	 * The media types of streaming responses when none are configured: server-sent
	 * events, newline-delimited and sequenced JSON, and a stream of replaced parts.
	 */
	public static final List<MediaType> DEFAULT_MEDIA_TYPES = List.of(MediaType.TEXT_EVENT_STREAM,
			MediaType.APPLICATION_NDJSON, MediaType.parseMediaType("application/stream+json"),
			MediaType.parseMediaType("application/jsonl"), MediaType.parseMediaType("application/json-seq"),
			MediaType.parseMediaType("multipart/x-mixed-replace"));

	/** The default media types, with no limit on the silence between two chunks. */
	public static final StreamingResponses DEFAULTS = new StreamingResponses(DEFAULT_MEDIA_TYPES, Duration.ZERO);

	private final List<MediaType> mediaTypes;

	private final long idleTimeoutNanos;

	/**
	 * Create the settings.
	 * @param mediaTypes the media types of streaming responses (wildcards and suffixes
	 * such as {@code application/*+x-ndjson} allowed)
	 * @param idleTimeout the longest silence between two chunks of a streaming body;
	 * {@link Duration#ZERO} for none
	 */
	public StreamingResponses(List<MediaType> mediaTypes, Duration idleTimeout) {
		Assert.isTrue(!idleTimeout.isNegative(), "Stream idle timeout must not be negative");
		this.mediaTypes = List.copyOf(mediaTypes);
		this.idleTimeoutNanos = idleTimeout.toNanos();
	}

	/** Whether a response of this content type is a stream. */
	boolean isStreaming(@Nullable MediaType contentType) {
		if (contentType == null) {
			return false;
		}
		for (MediaType streaming : this.mediaTypes) {
			if (streaming.isCompatibleWith(contentType)) {
				return true;
			}
		}
		return false;
	}

	/** The longest silence between two chunks of a stream, in nanoseconds; 0 for none. */
	long idleTimeoutNanos() {
		return this.idleTimeoutNanos;
	}

}
