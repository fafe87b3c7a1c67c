package io.github.hangup.servlet;

import io.github.hangup.HangupKind;
import jakarta.servlet.http.HttpServletRequest;

import org.springframework.http.ProblemDetail;

/**
 * Customizes the RFC 9457 {@link ProblemDetail} that
 * {@link HangupHandlerExceptionResolver} answers for a hang-up in a Spring MVC
 * application, before the application's message converters write it as
 * {@code application/problem+json}: the Servlet twin of
 * {@link io.github.hangup.server.HangupProblemDetailCustomizer}, with the same contract.
 * Every bean of this type is called, in
 * {@link org.springframework.core.annotation.Order @Order}, on a problem made afresh for
 * each answer.
 * <p>
 * The problem comes as {@link io.github.hangup.HangupProblemDetails} makes it. The status
 * is the one answered and already recorded: configure it with
 * {@code hangup.server.status.*}, as a status set here is put back.
 *
 * @since 0.3.0
 */
@FunctionalInterface
public interface HangupServletProblemDetailCustomizer {

	/**
	 * Customize the problem answered for a hang-up.
	 * @param problem the problem, made for this answer alone
	 * @param kind the kind of hang-up: an {@code UPSTREAM_*} kind
	 * @param request the request answered
	 */
	void customize(ProblemDetail problem, HangupKind kind, HttpServletRequest request);

}
