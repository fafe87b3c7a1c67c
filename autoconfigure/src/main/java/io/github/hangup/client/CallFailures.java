package io.github.hangup.client;

import io.github.hangup.HangupClassifier;
import io.github.hangup.HangupKind;
import io.github.hangup.HangupPhase;
import io.github.hangup.HangupSide;
import io.github.hangup.server.InboundScope;
import org.jspecify.annotations.Nullable;

/**
 * Decides whether a failed outbound call is a hang-up, and whose: the upstream's, or the
 * inbound request's when the request body's own source failed first.
 */
final class CallFailures {

	private CallFailures() {
	}

	/**
	 * The hang-up a failure of the call is.
	 * @param requestBodyError the failure of the request body's own source, if any
	 * @param sent whether the request started to go out on a connection
	 * @return the kind, or {@code null} when the failure is no hang-up of this call
	 */
	static @Nullable HangupKind kind(Throwable error, HangupPhase phase, HangupClassifier classifier,
			@Nullable InboundScope scope, @Nullable Throwable requestBodyError, boolean sent) {
		if (requestBodyError != null) {
			// The request body's own source failed first: one streamed from a client that
			// left fails the call, whatever error of the connection reaches us. (A call
			// that runs on after its client left, in CHAIN mode, still fails as the
			// upstream's.)
			return inboundEnded(classifier, scope, requestBodyError);
		}
		HangupKind kind = classifier.classify(error, HangupSide.OUTBOUND);
		if (kind == null && isMalformedReply(error, phase, sent)) {
			kind = HangupKind.UPSTREAM_PROTOCOL_ERROR;
		}
		return (kind != null && kind.isUpstream()) ? kind : null;
	}

	/**
	 * The kind of a failure caused by the inbound request ending, or {@code null} when
	 * the request body failed for another reason (the application's own error).
	 */
	private static @Nullable HangupKind inboundEnded(HangupClassifier classifier, @Nullable InboundScope scope,
			Throwable requestBodyError) {
		if (scope != null && scope.isClientGone()) {
			return scope.goneKind();
		}
		return (classifier.classify(requestBodyError, HangupSide.INBOUND) == HangupKind.CLIENT_CANCEL)
				? HangupKind.CLIENT_CANCEL : null;
	}

	/**
	 * Netty's HTTP decoder reports much of what it cannot parse (a status that is not a
	 * number, conflicting Content-Lengths, an invalid chunk size) as a plain
	 * {@link IllegalArgumentException}. Such an error is the reply's once the request
	 * started to go out, or in the body, where nothing of ours is parsed; before, it is
	 * the request's.
	 */
	private static boolean isMalformedReply(Throwable error, HangupPhase phase, boolean sent) {
		if (phase == HangupPhase.BEFORE_RESPONSE && !sent) {
			return false;
		}
		int depth = 0;
		for (Throwable t = error; t != null && depth < 8; t = (t.getCause() != t) ? t.getCause() : null, depth++) {
			if (t instanceof IllegalArgumentException) {
				return true;
			}
		}
		return false;
	}

}
