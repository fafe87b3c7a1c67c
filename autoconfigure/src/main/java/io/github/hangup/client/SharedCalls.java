package io.github.hangup.client;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;

import io.github.hangup.server.InboundScope;
import org.jspecify.annotations.Nullable;
import reactor.core.CoreSubscriber;
import reactor.core.Scannable;

/**
 * Whether anyone but a request whose client left still waits on a call. A call shared
 * through a multicasting operator ({@code cache()}, {@code share()}, {@code replay()},
 * {@code publish()}, a sink) reaches several subscribers, each with its own Reactor
 * {@code Context}: such an operator lists them as its inners (or, as {@code cache()}
 * does, keeps them in its {@code subscribers} array), and Reactor's {@code Scannable}
 * walks from the call's subscriber down to it. Anything that cannot be walked counts as
 * not shared: the call is then stopped with its request, and a request still waiting gets
 * an honest error.
 */
final class SharedCalls {

	/** Operator chains are short; a bound keeps a pathological one from costing much. */
	private static final int MAX_DEPTH = 64;

	private static final Object[] NONE = {};

	private SharedCalls() {
	}

	/**
	 * Return whether a subscriber other than those of {@code own} request (or of requests
	 * whose client also left) waits downstream of any of {@code downstreams}.
	 * @param own the scope of the request whose client left
	 * @param downstreams the call's subscribers: its response's, its body's reader
	 */
	static boolean isAwaitedByAnother(@Nullable InboundScope own, @Nullable Object... downstreams) {
		try {
			return findWaiter(own, downstreams);
		}
		catch (RuntimeException ex) {
			// An operator that cannot be walked: the call is stopped with its request, as
			// calls that are not shared are.
			return false;
		}
	}

	private static boolean findWaiter(@Nullable InboundScope own, @Nullable Object... downstreams) {
		Set<Object> chain = Collections.newSetFromMap(new IdentityHashMap<>());
		List<Scannable> nodes = new ArrayList<>();
		for (Object downstream : downstreams) {
			Object node = downstream;
			for (int depth = 0; node != null && depth < MAX_DEPTH && chain.add(node); depth++) {
				Scannable scannable = Scannable.from(node);
				nodes.add(scannable);
				node = scannable.scanUnsafe(Scannable.Attr.ACTUAL);
			}
		}
		for (Scannable node : nodes) {
			for (Scannable inner : node.inners().toList()) {
				if (isOtherWaiter(inner, chain, own)) {
					return true;
				}
			}
			for (Object inner : multicastSubscribers(node)) {
				if (inner instanceof Scannable scannable && isOtherWaiter(scannable, chain, own)) {
					return true;
				}
			}
		}
		return false;
	}

	/**
	 * The subscribers of a multicasting operator that does not list them as its inners,
	 * as {@code Mono.cache()}'s coordinator: Reactor's multicasting operators keep them
	 * in an array field named {@code subscribers}.
	 */
	private static Object[] multicastSubscribers(Scannable node) {
		for (Class<?> type = node.getClass(); type != null && type != Object.class; type = type.getSuperclass()) {
			for (Field field : type.getDeclaredFields()) {
				if (field.getName().equals("subscribers") && field.getType().isArray()
						&& !field.getType().getComponentType().isPrimitive() && !Modifier.isStatic(field.getModifiers())
						&& field.trySetAccessible()) {
					try {
						Object value = field.get(node);
						return (value instanceof Object[] subscribers) ? subscribers : NONE;
					}
					catch (IllegalAccessException ex) {
						return NONE;
					}
				}
			}
		}
		return NONE;
	}

	private static boolean isOtherWaiter(@Nullable Scannable inner, Set<Object> chain, @Nullable InboundScope own) {
		if (inner == null) {
			// Some operators list an inner they do not have (yet).
			return false;
		}
		Object waiter = inner.scanUnsafe(Scannable.Attr.ACTUAL);
		if (waiter == null || chain.contains(inner) || chain.contains(waiter)
				|| !(waiter instanceof CoreSubscriber<?> subscriber)) {
			// Not a waiter of its own: an inner of an operator in the call's own chain.
			return false;
		}
		if (inner.scanOrDefault(Scannable.Attr.CANCELLED, false)) {
			return false;
		}
		InboundScope scope = InboundScope.from(subscriber.currentContext());
		// A waiter outside any request (a scheduled refresh) waits too.
		return scope == null || (scope != own && !scope.isClientGone());
	}

}
