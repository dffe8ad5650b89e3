package dev.adit.handler;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import dev.adit.config.TunnelConfig;
import dev.adit.testing.Http2TunnelClient;
import dev.adit.testing.Transport;
import dev.adit.testing.TunnelClient;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What a test started: Adit fixtures and anything else to close. After each test every fixture
 * must be quiescent (no open tunnel, no leaked buffer, one access-log line per ended tunnel,
 * events paired), then everything is closed in reverse order. Register with
 * {@code @RegisterExtension final AditFixtures started = new AditFixtures();}.
 */
final class AditFixtures implements AfterEachCallback
{
    private final List<AutoCloseable> toClose = new ArrayList<>();
    private final List<AditFixture> adits = new ArrayList<>();

    /** Starts Adit from MicroProfile properties over the test defaults ({@link AditFixture#start(Map)}). */
    AditFixture adit(Map<String, String> properties) throws Exception
    {
        return add(AditFixture.start(properties));
    }

    /** Starts Adit with the production connect timeout (not the fixture's 1 s), for bursts of connects. */
    AditFixture aditForBursts() throws Exception
    {
        return add(AditFixture.start(tunnel -> tunnel.withConnectTimeout(TunnelConfig.DEFAULTS.connectTimeout())));
    }

    /** An HTTP/2 client connected to {@code adit}'s listener for {@code transport}, with the default windows. */
    Http2TunnelClient h2Client(AditFixture adit, Transport transport) throws Exception
    {
        return add(TunnelClient.connectH2(transport, adit.address(transport),
            Http2TunnelClient.DEFAULT_STREAM_WINDOW, Http2TunnelClient.DEFAULT_SESSION_WINDOW));
    }

    /** Closes {@code resource} after the test; fixtures are also checked for quiescence. */
    <T extends AutoCloseable> T add(T resource)
    {
        if (resource instanceof AditFixture adit)
            adits.add(adit);
        toClose.add(resource);
        return resource;
    }

    @Override
    public void afterEach(ExtensionContext context) throws Exception
    {
        try
        {
            for (AditFixture adit : adits)
                adit.assertQuiescentWithoutLeaks();
            for (AditFixture adit : adits)
                assertThat(adit.events.unpaired()).as("tunnels that ended twice or unpaired").isEmpty();
        }
        finally
        {
            for (int i = toClose.size() - 1; i >= 0; i--)
                toClose.get(i).close();
            toClose.clear();
            adits.clear();
        }
    }
}
