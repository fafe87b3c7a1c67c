package io.github.hangup.actuate;

import java.time.Duration;

import io.github.hangup.HangupEvent;
import io.github.hangup.HangupKind;
import io.github.hangup.HangupPhase;
import io.github.hangup.HangupSide;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The endpoint explains each hang-up as it happened on the protocol the request used.
 */
class RecordedHangupTests {

	@Test
	void clientLeavingOverHttp11ClosedItsConnection() {
		assertThat(explain(HangupKind.CLIENT_CANCEL, HangupSide.INBOUND, "HTTP/1.1"))
			.isEqualTo("The client closed the connection 12 ms into GET /orders, before any response was sent "
					+ "(a browser refresh or a client timeout); the upstream call to catalog:80 was cancelled.");
	}

	@Test
	void clientLeavingOverHttp2ResetItsStreamAndKeptItsConnection() {
		assertThat(explain(HangupKind.CLIENT_CANCEL, HangupSide.INBOUND, "HTTP/2.0"))
			.isEqualTo("The client reset its HTTP/2 stream (RST_STREAM) 12 ms into GET /orders, before any response "
					+ "was sent (an aborted fetch, a navigation away); its connection stays open for its other requests; "
					+ "the upstream call to catalog:80 was cancelled.");
	}

	@Test
	void serverCloseIsTheApplicationsOwnDoing() {
		assertThat(explain(HangupKind.SERVER_CLOSE, HangupSide.INBOUND, "HTTP/1.1"))
			.isEqualTo("This application's server closed GET /orders 12 ms in, while shutting down: it was still "
					+ "waiting to answer when graceful shutdown ended; the upstream call to catalog:80 was cancelled.");
		assertThat(explain(HangupKind.SERVER_CLOSE, HangupSide.OUTBOUND, null)).isEqualTo("The call GET to catalog:80 "
				+ "was stopped 12 ms in, because this application's server closed the request it was made for (a shutdown).");
	}

	private static String explain(HangupKind kind, HangupSide side, String protocol) {
		HangupEvent.Builder builder = (side == HangupSide.INBOUND)
				? HangupEvent.inbound(kind, HangupPhase.BEFORE_RESPONSE, "GET", Duration.ofMillis(12))
				: HangupEvent.outbound(kind, HangupPhase.BEFORE_RESPONSE, "GET", Duration.ofMillis(12));
		HangupEvent event = builder.route("/orders").upstream("catalog:80").protocol(protocol).build();
		return RecordedHangup.explain(event, 12);
	}

}
