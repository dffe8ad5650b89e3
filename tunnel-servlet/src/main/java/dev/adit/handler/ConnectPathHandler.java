package dev.adit.handler;

import java.util.Objects;

import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.http.HttpURI;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.TunnelSupport;
import org.eclipse.jetty.util.Callback;

/**
 * Gives every plain CONNECT request a path, so that it reaches a webapp whose servlet serves
 * tunnels (Adit's sample WAR, {@code dev.adit.servlet.AditServlet}).
 *
 * <p>Why: an HTTP/2 CONNECT has no {@code :path} (RFC 9113 §8.5), and Jetty 12.1 routes by
 * path: a lone root context answers 404, a {@code ContextHandlerCollection} of two or more
 * contexts fails with a NullPointerException (500). HTTP/1.1 CONNECT reaches the root context
 * as {@code /}. This wrapper, placed in front of every context ({@code Server.insertHandler},
 * as the {@code adit-connect-path} Jetty module does), shows plain CONNECT requests of both
 * versions with the configured path ({@link #setPath}, {@code /} by default: the root context)
 * and changes nothing else. Extended CONNECT (RFC 8441, a {@code :protocol} such as
 * {@code websocket}) keeps its own {@code :path}; other requests pass untouched.</p>
 *
 * <p>Only the path is added: the CONNECT target stays the request's authority, and the request
 * is not otherwise wrapped. Adit's own {@link TunnelHandler} does not need this: it serves
 * CONNECT in front of the contexts itself.</p>
 */
public class ConnectPathHandler extends Handler.Wrapper
{
    private volatile String path = "/";

    public ConnectPathHandler()
    {
    }

    public ConnectPathHandler(Handler handler)
    {
        super(handler);
    }

    /** @return the path plain CONNECT requests are given */
    public String getPath()
    {
        return path;
    }

    /**
     * @param path an absolute path such as {@code /} (the root context) or {@code /tunnels/}
     *             (a webapp deployed at {@code /tunnels}; the trailing slash avoids the
     *             context's redirect to it)
     */
    public void setPath(String path)
    {
        if (Objects.requireNonNull(path).isEmpty() || path.charAt(0) != '/')
            throw new IllegalArgumentException("path: " + path + " (expected: an absolute path such as /)");
        this.path = path;
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) throws Exception
    {
        if (HttpMethod.CONNECT.is(request.getMethod()))
        {
            TunnelSupport tunnelSupport = request.getTunnelSupport();
            if (tunnelSupport != null && tunnelSupport.getProtocol() == null)
                return super.handle(withPath(request, path), response, callback);
        }
        return super.handle(request, response, callback);
    }

    private static Request withPath(Request request, String path)
    {
        HttpURI uri = HttpURI.build(request.getHttpURI()).path(path).asImmutable();
        return new Request.Wrapper(request)
        {
            @Override
            public HttpURI getHttpURI()
            {
                return uri;
            }
        };
    }

    @Override
    public String toString()
    {
        return "%s@%x{path=%s}".formatted(getClass().getSimpleName(), hashCode(), path);
    }
}
