package dev.adit.servlet;

import jakarta.servlet.ServletContext;
import jakarta.servlet.http.HttpServletRequest;
import org.eclipse.jetty.ee11.servlet.ServletContextHandler;
import org.eclipse.jetty.ee11.servlet.ServletContextRequest;
import org.eclipse.jetty.server.Server;

/**
 * {@link JettyCore} for Jetty's ee11 environment. Loaded by name only: where
 * {@code org.eclipse.jetty.ee11.servlet} is not visible its constructor fails with a
 * {@link LinkageError}, which {@link JettyCore#find} expects.
 */
final class Ee11Core implements JettyCore
{
    Ee11Core()
    {
        // Resolves the environment's classes now rather than at the first request.
        ServletContextRequest.class.getName();
    }

    @Override
    public boolean serves(ServletContext context)
    {
        return context instanceof ServletContextHandler.ServletContextApi;
    }

    @Override
    public Server server(ServletContext context)
    {
        return ServletContextHandler.getServletContextHandler(context).getServer();
    }

    @Override
    public Exchange exchange(HttpServletRequest request)
    {
        ServletContextRequest core = ServletContextRequest.getServletContextRequest(request);
        return new Exchange(core, core.getServletContextResponse());
    }

    @Override
    public void abort(HttpServletRequest request, Throwable failure)
    {
        ServletContextRequest.getServletContextRequest(request).getServletChannel().abort(failure);
    }
}
