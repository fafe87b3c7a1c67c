/**
 * Inbound side on the Servlet stack (Spring MVC on Tomcat or Jetty): the filter that
 * opens each request's scope, the exception resolver that answers upstream hang-ups with
 * 502/503/504 and counts clients that left, and the observation filter.
 */
@NullMarked
package io.github.hangup.servlet;

import org.jspecify.annotations.NullMarked;
