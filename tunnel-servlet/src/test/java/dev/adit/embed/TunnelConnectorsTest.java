package dev.adit.embed;

import dev.adit.handler.Http2TunnelResets;
import org.eclipse.jetty.http2.server.HTTP2CServerConnectionFactory;
import org.eclipse.jetty.io.RateControl;
import org.eclipse.jetty.io.WindowRateControl;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** What {@link TunnelConnectors} changes on the HTTP/2 factories of a server Adit did not build. */
class TunnelConnectorsTest
{
    @Test
    void http2FactoriesGetTheStreamIdleTimeoutAndKeepTheirRateControlForAllButAditsResets() throws Exception
    {
        Server server = new Server();
        HTTP2CServerConnectionFactory h2c = new HTTP2CServerConnectionFactory(new HttpConfiguration());
        RateControl.Factory operators = new WindowRateControl.Factory(50);
        h2c.setRateControlFactory(operators);
        ServerConnector connector = new ServerConnector(server, h2c);
        connector.setHost("127.0.0.1");
        connector.setPort(0);
        server.addConnector(connector);
        server.addBean(new TunnelConnectors(server, 42_000));
        try
        {
            server.start();
            assertThat(h2c.getStreamIdleTimeout()).isEqualTo(42_000);
            RateControl.Factory adapted = h2c.getRateControlFactory();
            assertThat(adapted).isNotSameAs(operators);
            Http2TunnelResets.install(h2c);
            assertThat(h2c.getRateControlFactory()).as("already Adit's").isSameAs(adapted);
            // The operator's limit still holds for everything else.
            RateControl rateControl = adapted.newRateControl(null);
            int passed = 0;
            while (passed < 1000 && rateControl.onEvent(new Object()))
                passed++;
            assertThat(passed).isEqualTo(50);
        }
        finally
        {
            server.stop();
        }
    }
}
