package io.github.hangup.servlet;

import org.junit.jupiter.api.Tag;

/**
 * The tests of {@link MvcRequestFactoryMatrixTests} on Jetty (12.1), run by the
 * {@code jetty-test} execution, whose class path has Boot's Jetty module in place of its
 * Tomcat module.
 */
@Tag("jetty")
class MvcJettyRequestFactoryMatrixTests extends MvcRequestFactoryMatrixTests {

}
