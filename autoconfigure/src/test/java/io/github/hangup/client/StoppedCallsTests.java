package io.github.hangup.client;

import io.github.hangup.HangupException;
import io.github.hangup.HangupKind;
import io.github.hangup.HangupPhase;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import reactor.core.Exceptions;
import reactor.core.publisher.Operators;
import reactor.util.context.Context;

import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Once a call was stopped, an unhandled error of a stopped call is no ERROR line, while
 * every other dropped error still is, as Reactor logs it without a hook.
 */
@ExtendWith(OutputCaptureExtension.class)
class StoppedCallsTests {

	@BeforeAll
	static void install() {
		StoppedCalls.quietWhenDropped();
	}

	@Test
	void droppedErrorOfAStoppedCallWithoutErrorHandlerIsNoErrorLine(CapturedOutput output) {
		HangupException stopped = HangupException.of(HangupKind.CLIENT_CANCEL, HangupPhase.BEFORE_RESPONSE, "GET",
				"catalog:80", null);
		Operators.onErrorDropped(Exceptions.errorCallbackNotImplemented(stopped), Context.empty());
		Operators.onErrorDropped(
				HangupException.of(HangupKind.SERVER_CLOSE, HangupPhase.DURING_RESPONSE, "GET", "catalog:80", null),
				Context.empty());
		assertThat(output).doesNotContain("ERROR").doesNotContain("onErrorDropped");
	}

	@Test
	void otherDroppedErrorsAreStillLoggedAsReactorDoes(CapturedOutput output) {
		Operators.onErrorDropped(new IllegalStateException("not a hang-up"), Context.empty());
		assertThat(output).contains("ERROR")
			.contains("Operator called default onErrorDropped")
			.contains("IllegalStateException: not a hang-up");
	}

}
