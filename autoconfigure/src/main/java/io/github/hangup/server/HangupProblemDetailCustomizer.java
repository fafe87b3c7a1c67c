package io.github.hangup.server;

import io.github.hangup.HangupKind;

import org.springframework.http.ProblemDetail;
import org.springframework.web.server.ServerWebExchange;

/**
 * Customizes the RFC 9457 {@link ProblemDetail} that {@link HangupWebExceptionHandler}
 * answers for a hang-up, before the application's codecs write it as
 * {@code application/problem+json}: add a property, set the {@code type}, {@code title},
 * {@code detail} or {@code instance}. Every bean of this type is called, in
 * {@link org.springframework.core.annotation.Order @Order}, on a problem made afresh for
 * each answer, so a change made for one request never shows in another's.
 * <p>
 * The problem comes with {@code type} {@code about:blank}, the status's reason phrase as
 * its {@code title}, a fixed {@code detail} and a {@code hangup} property naming the
 * kind. None of it names an upstream host or address, or says anything of the error
 * behind it; keep it that way. The status is the one answered and already recorded:
 * configure it with {@code hangup.server.status.*}, as a status set here is put back.
 *
 * @since 0.2.0
 */
@FunctionalInterface
public interface HangupProblemDetailCustomizer {

	/**
	 * Customize the problem answered for a hang-up.
	 * @param problem the problem, made for this answer alone
	 * @param kind the kind of hang-up: an {@code UPSTREAM_*} kind, or
	 * {@link HangupKind#SERVER_CLOSE} for a request closed by a shutdown
	 * @param exchange the exchange answered
	 */
	void customize(ProblemDetail problem, HangupKind kind, ServerWebExchange exchange);

}
