package io.github.hangup.harm;

import org.junit.jupiter.api.Tag;

/**
 * The do-no-harm suite of {@link MvcDoNoHarmTests} on Jetty (12.1), run by the
 * {@code jetty-test} execution, whose class path has Boot's Jetty module in place of its
 * Tomcat module: both applications (with Hangup and without) run on Jetty, where Hangup
 * watches each request's connection while it waits on its calls.
 */
@Tag("jetty")
class MvcJettyDoNoHarmTests extends MvcDoNoHarmTests {

}
