package dev.adit.core;

import java.util.Set;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** The response flags are Envoy's, so that what reads Envoy's access log reads Adit's. */
class TunnelFailureTest
{
    /** Envoy's short response flags (source/common/stream_info/utility.h), and "-" for none. */
    private static final Set<String> ENVOY_FLAGS = Set.of("-", "UH", "UF", "UO", "NR", "URX", "NC", "DT", "DC", "LH", "UT", "LR",
        "UR", "UC", "DI", "FI", "RL", "UAEX", "RLSE", "SI", "IH", "DPE", "UMSDR", "RFCF", "NFCF", "UPE", "OM", "DF", "DO", "DR");

    @Test
    void everyOutcomeHasAnEnvoyFlag()
    {
        for (TunnelFailure failure : TunnelFailure.values())
            assertThat(failure.responseFlag()).as(failure.name()).isIn(ENVOY_FLAGS);
    }

    @Test
    void theFlagsSayWhatEnvoySaysForTheSameEvent()
    {
        assertThat(TunnelFailure.COMPLETED.responseFlag()).isEqualTo("-");
        assertThat(TunnelFailure.NO_ROUTE.responseFlag()).isEqualTo("NR");
        assertThat(TunnelFailure.CONNECT_FAILED.responseFlag()).isEqualTo("UF");
        assertThat(TunnelFailure.CONNECT_TIMEOUT.responseFlag()).isEqualTo("UF");
        assertThat(TunnelFailure.DNS_FAILURE.responseFlag()).isEqualTo("DF");
        assertThat(TunnelFailure.MAX_DURATION.responseFlag()).isEqualTo("DT");
        assertThat(TunnelFailure.UPSTREAM_RESET.responseFlag()).isEqualTo("UR");
        // An upstream's own refusal is relayed, not made by Adit: Envoy flags nothing.
        assertThat(TunnelFailure.UPSTREAM_REFUSED.responseFlag()).isEqualTo("-");
    }
}
