package io.github.hangup.server;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;

import io.micrometer.context.ContextRegistry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Hooks;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The scope crosses threads with Reactor's automatic context propagation.
 */
class InboundScopeThreadLocalAccessorTests {

	@AfterEach
	void resetHooks() {
		Hooks.disableAutomaticContextPropagation();
	}

	@Test
	void accessorIsFoundByTheServiceLoader() {
		assertThat(ContextRegistry.getInstance().getThreadLocalAccessors())
			.anyMatch(InboundScopeThreadLocalAccessor.class::isInstance);
	}

	@Test
	void scopeIsCurrentInCallbacksOnOtherThreads() {
		Hooks.enableAutomaticContextPropagation();
		InboundScope scope = new InboundScope();
		AtomicReference<InboundScope> seen = new AtomicReference<>();
		Mono.delay(Duration.ofMillis(5), Schedulers.parallel())
			.doOnNext((tick) -> seen.set(InboundScope.current()))
			.contextWrite((context) -> context.put(InboundScope.CONTEXT_KEY, scope))
			.block(Duration.ofSeconds(5));
		assertThat(seen.get()).isSameAs(scope);
		assertThat(InboundScope.current()).isNull();
	}

}
