package dev.adit.handler;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

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
