package dev.adit.launcher;

import java.lang.management.ManagementFactory;

import com.sun.management.HotSpotDiagnosticMXBean;
import com.sun.management.VMOption;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class HeapReturnTest
{
    @Test
    void flagsAtTheirDefaultsAreSetAndFlagsSetElsewhereAreLeft()
    {
        HotSpotDiagnosticMXBean hotSpot = ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
        // Surefire starts this JVM without -XX: heap flags: all three are at their defaults.
        assertThat(HeapReturn.FLAGS).allSatisfy(flag ->
            assertThat(hotSpot.getVMOption(flag.getKey()).getOrigin()).isEqualTo(VMOption.Origin.DEFAULT));

        assertThat(HeapReturn.apply())
            .containsExactly("MinHeapFreeRatio=10", "MaxHeapFreeRatio=30", "G1PeriodicGCInterval=10000");
        assertThat(hotSpot.getVMOption("MaxHeapFreeRatio").getValue()).isEqualTo("30");

        // Now they are set (origin MANAGEMENT, as -XX: on the command line would be): left alone.
        hotSpot.setVMOption("MaxHeapFreeRatio", "50");
        assertThat(HeapReturn.apply()).isEmpty();
        assertThat(hotSpot.getVMOption("MaxHeapFreeRatio").getValue()).isEqualTo("50");
    }
}
