package io.github.hangup.gateway;

import java.io.IOException;
import java.lang.reflect.Constructor;
import java.lang.reflect.Field;
import java.lang.reflect.Member;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

import io.github.hangup.HangupKind;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.fail;

/**
 * The library's public API, every public type with its public and protected members, is
 * the one listed in {@code src/test/resources/public-api.txt}: a change to what
 * applications can see is a decision made in review, not a side effect. It runs with the
 * gateway tests, whose class path has every optional dependency the library's classes
 * refer to.
 */
@Tag("gateway")
class PublicApiTests {

	private static final Path LISTING = Paths.get("src/test/resources/public-api.txt");

	private static final String UPDATE = "hangup.public-api.update";

	@Test
	void publicApiIsTheCommittedListing() throws Exception {
		List<String> actual = listing();
		if (Boolean.getBoolean(UPDATE)) {
			Files.write(LISTING, actual, StandardCharsets.UTF_8);
			return;
		}
		List<String> expected = Files.exists(LISTING) ? Files.readAllLines(LISTING, StandardCharsets.UTF_8) : List.of();
		if (!actual.equals(expected)) {
			Set<String> removed = new LinkedHashSet<>(expected);
			removed.removeAll(actual);
			Set<String> added = new LinkedHashSet<>(actual);
			added.removeAll(expected);
			StringBuilder message = new StringBuilder("The public API is not the one in ").append(LISTING)
				.append(".\n");
			removed.forEach((line) -> message.append("- ").append(line).append('\n'));
			added.forEach((line) -> message.append("+ ").append(line).append('\n'));
			message.append("If the change is intended, update the listing with\n")
				.append("  ./mvnw -pl autoconfigure test -Dtest=PublicApiTests -Dsurefire.failIfNoSpecifiedTests=false -D")
				.append(UPDATE)
				.append("=true\nand commit it with the change.");
			fail(message.toString());
		}
	}

	static List<String> listing() throws IOException, URISyntaxException {
		Path classes = Paths.get(HangupKind.class.getProtectionDomain().getCodeSource().getLocation().toURI());
		List<String> names;
		try (Stream<Path> files = Files.walk(classes)) {
			names = files.map((file) -> classes.relativize(file).toString())
				.filter((name) -> name.endsWith(".class") && !name.endsWith("package-info.class"))
				.map((name) -> name.substring(0, name.length() - ".class".length()).replace('/', '.'))
				.sorted()
				.toList();
		}
		List<String> lines = new ArrayList<>();
		for (String name : names) {
			Class<?> type;
			try {
				type = Class.forName(name, false, PublicApiTests.class.getClassLoader());
			}
			catch (ClassNotFoundException | LinkageError ex) {
				continue;
			}
			if (isVisible(type)) {
				lines.addAll(describe(type));
			}
		}
		return lines;
	}

	private static boolean isVisible(Class<?> type) {
		for (Class<?> t = type; t != null; t = t.getEnclosingClass()) {
			if (t.isAnonymousClass() || t.isLocalClass() || t.isSynthetic()) {
				return false;
			}
			boolean exposed = Modifier.isPublic(t.getModifiers()) || (t != type || t.getEnclosingClass() != null)
					&& Modifier.isProtected(t.getModifiers()) && isSubclassable(t.getEnclosingClass());
			if (!exposed) {
				return false;
			}
		}
		return true;
	}

	private static boolean isSubclassable(Class<?> type) {
		return !Modifier.isFinal(type.getModifiers()) && hasVisibleConstructor(type);
	}

	private static boolean hasVisibleConstructor(Class<?> type) {
		return Arrays.stream(type.getDeclaredConstructors()).anyMatch(PublicApiTests::isExposed);
	}

	private static List<String> describe(Class<?> type) {
		String name = type.getName();
		Set<String> members = new TreeSet<>();
		boolean extensible = isSubclassable(type) || type.isInterface();
		for (Field field : type.getDeclaredFields()) {
			if (!field.isSynthetic() && isExposed(field, extensible)) {
				members.add(modifiers(field) + field.getGenericType().getTypeName() + " " + field.getName());
			}
		}
		for (Constructor<?> constructor : type.getDeclaredConstructors()) {
			if (!constructor.isSynthetic() && isExposed(constructor, extensible)) {
				members.add(modifiers(constructor) + "<init>" + parameters(constructor.getGenericParameterTypes()));
			}
		}
		for (Method method : type.getDeclaredMethods()) {
			if (!method.isSynthetic() && !method.isBridge() && isExposed(method, extensible)) {
				members.add(modifiers(method) + method.getGenericReturnType().getTypeName() + " " + method.getName()
						+ parameters(method.getGenericParameterTypes()));
			}
		}
		List<String> lines = new ArrayList<>();
		lines.add(header(type));
		members.forEach((member) -> lines.add(name + "  " + member));
		return lines;
	}

	private static boolean isExposed(Member member) {
		return isExposed(member, true);
	}

	private static boolean isExposed(Member member, boolean extensible) {
		int modifiers = member.getModifiers();
		return Modifier.isPublic(modifiers) || (extensible && Modifier.isProtected(modifiers));
	}

	private static String header(Class<?> type) {
		StringBuilder header = new StringBuilder(type.getName()).append(" :");
		String modifiers = Modifier.toString(type.getModifiers() & ~Modifier.INTERFACE & ~Modifier.STATIC);
		if (!modifiers.isEmpty()) {
			header.append(' ').append(modifiers);
		}
		header.append(' ').append(kind(type));
		if (type.getGenericSuperclass() != null && type.getSuperclass() != Object.class && !type.isEnum()
				&& !type.isRecord()) {
			header.append(" extends ").append(type.getGenericSuperclass().getTypeName());
		}
		java.lang.reflect.Type[] interfaces = type.getGenericInterfaces();
		if (interfaces.length > 0) {
			header.append(type.isInterface() ? " extends " : " implements ")
				.append(String.join(", ", Arrays.stream(interfaces).map(java.lang.reflect.Type::getTypeName).toList()));
		}
		return header.toString();
	}

	private static String kind(Class<?> type) {
		if (type.isAnnotation()) {
			return "@interface";
		}
		if (type.isInterface()) {
			return "interface";
		}
		if (type.isEnum()) {
			return "enum";
		}
		if (type.isRecord()) {
			return "record";
		}
		return "class";
	}

	private static String modifiers(Member member) {
		int modifiers = member.getModifiers()
				& (Modifier.PUBLIC | Modifier.PROTECTED | Modifier.STATIC | Modifier.FINAL | Modifier.ABSTRACT);
		if (member instanceof Method method && method.isDefault()) {
			return Modifier.toString(modifiers) + " default ";
		}
		String text = Modifier.toString(modifiers);
		return text.isEmpty() ? "" : text + " ";
	}

	private static String parameters(java.lang.reflect.Type[] types) {
		return "(" + String.join(", ", Arrays.stream(types).map(java.lang.reflect.Type::getTypeName).toList()) + ")";
	}

}
