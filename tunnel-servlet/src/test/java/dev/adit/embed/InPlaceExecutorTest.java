package dev.adit.embed;

import org.eclipse.jetty.io.ManagedSelector;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class InPlaceExecutorTest
{
    /** Jetty's endpoint-creating selector tasks are recognised by name: an upgrade that renames them fails here. */
    @Test
    void jettysEndPointCreationTasksAreRecognisedAndNothingElse() throws Exception
    {
        Class<?> accept = Class.forName(ManagedSelector.class.getName() + "$Accept");
        Class<?> create = Class.forName(ManagedSelector.class.getName() + "$CreateEndPoint");
        Class<?> destroy = Class.forName(ManagedSelector.class.getName() + "$DestroyEndPoint");
        assertThat(Runnable.class.isAssignableFrom(accept)).isTrue();
        assertThat(Runnable.class.isAssignableFrom(create)).isTrue();
        assertThat(InPlaceExecutor.createsEndPoint(accept)).isTrue();
        assertThat(InPlaceExecutor.createsEndPoint(create)).isTrue();
        // Closing is not creating: it runs in place only for a tunnel side's socket (InPlaceCloseTest).
        assertThat(InPlaceExecutor.createsEndPoint(destroy)).isFalse();
        Runnable other = () -> { };
        assertThat(InPlaceExecutor.createsEndPoint(other.getClass())).isFalse();
    }

    @Test
    void otherTasksGoToThePool()
    {
        java.util.List<Runnable> pooled = new java.util.ArrayList<>();
        boolean[] ran = new boolean[1];
        Runnable task = () -> ran[0] = true;
        new InPlaceExecutor(pooled::add).execute(task);
        assertThat(pooled).containsExactly(task);
        assertThat(ran[0]).isFalse();
    }
}
