package io.github.hangup.server;

import io.micrometer.context.ThreadLocalAccessor;
import org.jspecify.annotations.Nullable;

/**
 * Lets Micrometer context-propagation (and Reactor's automatic context propagation) carry
 * the {@link InboundScope} between the Reactor {@code Context} and a thread local, so
 * that outbound calls subscribed from callbacks of a request's chain find their request.
 * Found through {@code META-INF/services}; needs
 * {@code io.micrometer:context-propagation}.
 *
 * @since 0.1.0
 */
public final class InboundScopeThreadLocalAccessor implements ThreadLocalAccessor<InboundScope> {

	/**
	 * Create the accessor; called by the {@code ServiceLoader}.
	 */
	public InboundScopeThreadLocalAccessor() {
	}

	@Override
	public Object key() {
		return InboundScope.CONTEXT_KEY;
	}

	@Override
	public @Nullable InboundScope getValue() {
		return InboundScope.current();
	}

	@Override
	public void setValue(InboundScope value) {
		CurrentScope.set(value);
	}

	@Override
	public void setValue() {
		CurrentScope.set(null);
	}

}
