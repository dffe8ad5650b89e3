package dev.adit.launcher;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import com.sun.management.HotSpotDiagnosticMXBean;
import com.sun.management.VMOption;

/**
 * Lets the standalone Adit give heap back to the operating system once a burst is over
 * (JEP 346). A burst of tunnel set-ups makes G1 grow its heap, and G1 by default keeps what it
 * grew: held tunnels then cost several times their live objects in resident memory.
 *
 * <p>These flags are manageable, so the launcher sets them at start, each only if the command
 * line left it at the JVM's default (an operator's {@code -XX:} always wins):
 * {@code MinHeapFreeRatio=10} and {@code MaxHeapFreeRatio=30} (shrink the heap after a
 * collection that leaves more than 30 % free; the JVM's defaults are 40 and 70), and with G1
 * {@code G1PeriodicGCInterval=10000} (a concurrent cycle after 10 s without a collection, which
 * is when G1 returns memory to the OS; 0, off, by default).</p>
 */
final class HeapReturn
{
    /** In the order they must be set: MinHeapFreeRatio may not exceed MaxHeapFreeRatio. */
    static final List<Map.Entry<String, String>> FLAGS = List.of(
        Map.entry("MinHeapFreeRatio", "10"),
        Map.entry("MaxHeapFreeRatio", "30"),
        Map.entry("G1PeriodicGCInterval", "10000"));

    private HeapReturn()
    {
    }

    /** @return the flags set, as {@code NAME=VALUE}; the ones the JVM does not have or the command line set are left */
    static List<String> apply()
    {
        HotSpotDiagnosticMXBean hotSpot = ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
        List<String> set = new ArrayList<>();
        if (hotSpot == null)
            return set;
        for (Map.Entry<String, String> flag : FLAGS)
        {
            String name = flag.getKey();
            VMOption option;
            try
            {
                option = hotSpot.getVMOption(name);
            }
            catch (IllegalArgumentException x)
            {
                // Not this JVM's flag (G1PeriodicGCInterval without G1 still exists; another JVM may lack it).
                continue;
            }
            if (option.getOrigin() != VMOption.Origin.DEFAULT || !option.isWriteable())
                continue;
            String value = flag.getValue();
            if (value.equals(option.getValue()))
                continue;
            hotSpot.setVMOption(name, value);
            set.add(name + "=" + value);
        }
        return set;
    }
}
