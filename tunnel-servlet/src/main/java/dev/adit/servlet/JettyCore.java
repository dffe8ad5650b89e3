package dev.adit.servlet;

import java.util.List;

import jakarta.servlet.ServletContext;
import jakarta.servlet.http.HttpServletRequest;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The escape hatch from the Servlet API to Jetty's core request, for what the Servlet API
 * cannot do: a CONNECT tunnel needs the request's {@code TunnelSupport} endpoint and Jetty's
 * upgrade attribute, and an exchange can only be failed abortively (RST_STREAM, a connection
 * closed mid-body) through Jetty.
 *
 * <p>Each Jetty servlet environment has its own classes ({@code ServletContextRequest} is
 * {@code org.eclipse.jetty.ee10.servlet...} in ee10, {@code ...ee11.servlet...} in ee11), so
 * there is one small adapter per environment, loaded by name at run time ({@link #find}): the
 * servlet links against neither, and runs where neither is visible (another container, or a
 * WAR whose Jetty classes are hidden), serving POST tunnels only.</p>
 */
interface JettyCore
{
    /** Adapters, tried in this order; each fails to load where its environment's classes are not visible. */
    List<String> ADAPTERS = List.of("dev.adit.servlet.Ee11Core", "dev.adit.servlet.Ee10Core");

    /** A request and its response, as Jetty's core API sees them. */
    record Exchange(Request request, Response response)
    {
    }

    /** @return whether this adapter's environment runs {@code context} */
    boolean serves(ServletContext context);

    /** @return the Jetty server running {@code context} */
    Server server(ServletContext context);

    /** @return the core request and response of a request of this environment */
    Exchange exchange(HttpServletRequest request);

    /**
     * Fails the exchange abortively: Jetty resets the HTTP/2 stream or closes the HTTP/1.1
     * connection; an async request waiting for completion is completed by it.
     */
    void abort(HttpServletRequest request, Throwable failure);

    /**
     * @return the adapter for the Jetty environment running {@code context}, or null when
     *         there is none (not Jetty, or Jetty's classes hidden from the webapp)
     */
    static JettyCore find(ServletContext context)
    {
        Logger log = LoggerFactory.getLogger(JettyCore.class);
        for (String name : ADAPTERS)
        {
            try
            {
                JettyCore core = (JettyCore)Class.forName(name, true, JettyCore.class.getClassLoader()).getDeclaredConstructor().newInstance();
                if (core.serves(context))
                    return core;
            }
            catch (LinkageError | ReflectiveOperationException x)
            {
                if (log.isDebugEnabled())
                    log.debug("{} cannot load here", name, x);
            }
        }
        return null;
    }
}
