package dev.adit.servlet;

import java.io.IOException;
import java.util.List;
import java.util.function.Consumer;

import dev.adit.config.AditConfig;
import dev.adit.config.ConfigException;
import dev.adit.config.EncapConfig;
import dev.adit.config.mp.ConfigBinder;
import dev.adit.config.mp.ConfigKeys;
import jakarta.servlet.AsyncContext;
import jakarta.servlet.RequestDispatcher;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.util.Callback;
import org.eclipse.microprofile.config.Config;
import org.eclipse.microprofile.config.spi.ConfigProviderResolver;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Adit as a servlet: serves CONNECT tunnels (HTTP/1.1 CONNECT, HTTP/2 extended CONNECT, and
 * HTTP/2 plain CONNECT where {@code dev.adit.handler.ConnectPathHandler} gives it a path) and
 * POST tunnels, with Adit's routes, clusters, destination policy, tunnel settings and access
 * log. Map it to {@code /} (HTTP/1.1 CONNECT is dispatched as {@code /}) with
 * {@code load-on-startup}, so that a bad configuration fails the deployment at once.
 *
 * <p><b>CONNECT</b> needs Jetty: the Servlet API has no tunnel (Jetty dispatches a CONNECT to
 * the servlet, but the request body and the 200 are HTTP framing). The servlet reaches Jetty's
 * core request ({@link JettyCore}, one adapter each for ee10 and ee11, picked at run time) and
 * hands it to a {@code TunnelHandler}, exactly as the Jetty module serves it, completing the
 * servlet's async context when the handler completes its callback. A webapp must see Jetty's
 * classes for this (README, WAR: {@code WEB-INF/jetty-ee10-web.xml} and
 * {@code jetty-ee11-web.xml}); where it sees Jetty's core classes but not its environment's
 * servlet classes (or runs in another container), CONNECT gets 501 and the start says so.</p>
 *
 * <p><b>POST tunnels</b> ({@code allow-post} routes) use only the standard async Servlet API
 * ({@link ServletPostTunnels}), so they work in any Servlet 6 container.</p>
 *
 * <p>Every other request (and a POST no route takes) goes to the container's default servlet,
 * so the webapp's static files are still served; override {@link #serveOther} to change that.</p>
 *
 * <p><b>Configuration</b> is MicroProfile Config, read when the servlet starts: system
 * properties ({@code -Dadit.*}), environment variables ({@code ADIT_*}), then the webapp's
 * {@code META-INF/microprofile-config.properties} ({@code WEB-INF/classes}). The keys of routes,
 * clusters, policy, tunnels, HTTP/2 windows of h2 clusters and the access log apply; listener
 * keys ({@code adit.http.*}, {@code adit.https.*}, {@code adit.tls.*}, {@code adit.server.*},
 * the {@code adit.h2.*} server settings) do not, as Jetty's own connectors serve the webapp, and
 * encapsulating listeners ({@code adit.encaps}) are refused. An invalid configuration fails
 * {@link #init()} with one line per problem, each naming its key, and Jetty logs it with the
 * failed deployment.</p>
 */
public class AditServlet extends HttpServlet
{
    private static final Logger LOG = LoggerFactory.getLogger(AditServlet.class);

    private final transient Config explicitConfig;
    private final transient Consumer<String> accessLogLines;
    private transient TunnelService service;
    private transient JettyCore core;
    private transient ServletPostTunnels posts;

    /** Reads the webapp's MicroProfile Config when it starts. */
    public AditServlet()
    {
        this(null);
    }

    /** @param config the configuration to read instead of the webapp's (embedders, tests) */
    public AditServlet(Config config)
    {
        this(config, null);
    }

    /** @param accessLogLines where the access log's lines go instead of its SLF4J logger (tests) */
    AditServlet(Config config, Consumer<String> accessLogLines)
    {
        this.explicitConfig = config;
        this.accessLogLines = accessLogLines;
    }

    @Override
    public void init() throws ServletException
    {
        AditConfig config = bind(explicitConfig != null ? explicitConfig : webappConfig());
        core = JettyCore.find(getServletContext());
        Server server = core == null ? null : core.server(getServletContext());
        TunnelService tunnels;
        try
        {
            tunnels = new TunnelService(config, server, accessLogLines);
            tunnels.start();
        }
        catch (NoClassDefFoundError x)
        {
            if (x.getMessage() == null || !x.getMessage().startsWith("org/eclipse/jetty/http2/client/"))
                throw x;
            throw new ServletException("Adit: invalid configuration, not starting:\n  " + ConfigKeys.CLUSTER_PROTOCOL.name()
                + ": h2 (expected: http1, or Jetty's HTTP/2 client visible to the webapp: the http2-client module of jetty-home): " + x, x);
        }
        catch (Exception x)
        {
            throw new ServletException("Adit: cannot start: " + x, x);
        }
        service = tunnels;
        posts = new ServletPostTunnels(service, core);
        if (core == null)
        {
            LOG.warn("Adit servlet {}: Jetty's core request is not visible here (another container, or Jetty's classes hidden from the webapp), "
                + "so CONNECT gets 501 and only POST tunnels are served; see the README, section WAR", getServletName());
        }
        LOG.info("Adit servlet {} serving {} routes{}", getServletName(), config.routes().size(),
            core == null ? " (POST tunnels only)" : " through Jetty's " + core.getClass().getSimpleName().replace("Core", "").toLowerCase() + " core request");
    }

    /**
     * @throws ServletException naming every invalid key: Jetty logs it and the deployment fails
     */
    private static AditConfig bind(Config config) throws ServletException
    {
        try
        {
            AditConfig bound = ConfigBinder.bind(config);
            if (!bound.encaps().isEmpty())
            {
                List<String> names = bound.encaps().stream().map(EncapConfig::name).toList();
                throw new ConfigException(List.of(ConfigKeys.ENCAPS.name() + ": " + String.join(",", names)
                    + " (expected: unset in a webapp: encapsulating listeners are connectors of their own; use the Jetty module or the standalone Adit)"));
            }
            return bound;
        }
        catch (ConfigException x)
        {
            throw new ServletException("Adit: " + x.getMessage(), x);
        }
    }

    /**
     * System properties, environment variables, then the webapp's
     * {@code META-INF/microprofile-config.properties}, by the MicroProfile Config
     * implementation the webapp carries (SmallRye Config in the sample WAR).
     */
    private Config webappConfig()
    {
        ClassLoader loader = getServletContext().getClassLoader();
        return ConfigProviderResolver.instance().getBuilder()
            .forClassLoader(loader)
            .addDefaultSources()
            .addDiscoveredSources()
            .addDiscoveredConverters()
            .build();
    }

    @Override
    protected void service(HttpServletRequest request, HttpServletResponse response) throws ServletException, IOException
    {
        String method = request.getMethod();
        if ("CONNECT".equals(method))
            connect(request, response);
        else if (!"POST".equals(method) || !posts.takesPost() || !posts.serve(request, response))
            serveOther(request, response);
    }

    /**
     * Hands the CONNECT to the tunnel handler over Jetty's core request and response. The
     * handler answers (200 once the target is connected, or the refusal) and completes its
     * callback; the async context then completes, and Jetty installs the tunnel on the
     * connection or stream, as for the Jetty module.
     */
    private void connect(HttpServletRequest request, HttpServletResponse response) throws IOException
    {
        if (core == null)
        {
            response.sendError(HttpServletResponse.SC_NOT_IMPLEMENTED, "CONNECT needs Jetty's core request, which this webapp cannot see");
            return;
        }
        JettyCore.Exchange exchange = core.exchange(request);
        AsyncContext async = request.startAsync();
        async.setTimeout(0);
        Callback callback = Callback.from(async::complete, failure -> core.abort(request, failure));
        boolean taken;
        try
        {
            taken = service.handler().handle(exchange.request(), exchange.response(), callback);
        }
        catch (Throwable x)
        {
            // Errors too (a class missing from the webapp's view): with no async timeout, a
            // request left unanswered would wait for ever.
            LOG.warn("Adit servlet {}: CONNECT {} failed", getServletName(), request.getServerName(), x);
            core.abort(request, x);
            if (x instanceof Error error)
                throw error;
            return;
        }
        if (!taken)
        {
            // An extended CONNECT that no route takes (the handler would pass it on).
            response.sendError(HttpServletResponse.SC_NOT_FOUND, "no route takes this extended CONNECT");
            async.complete();
        }
    }

    /**
     * Serves a request that is not a tunnel: forwards it to the container's default servlet
     * (the webapp's static files), or answers as {@link HttpServlet} does when there is none.
     */
    protected void serveOther(HttpServletRequest request, HttpServletResponse response) throws ServletException, IOException
    {
        RequestDispatcher defaultServlet = "default".equals(getServletName()) ? null : getServletContext().getNamedDispatcher("default");
        if (defaultServlet != null)
            defaultServlet.forward(request, response);
        else
            super.service(request, response);
    }

    @Override
    public void destroy()
    {
        TunnelService tunnels = service;
        service = null;
        if (tunnels != null)
        {
            try
            {
                tunnels.stop();
            }
            catch (Exception x)
            {
                LOG.warn("Adit servlet {}: stopping failed", getServletName(), x);
            }
        }
    }
}
