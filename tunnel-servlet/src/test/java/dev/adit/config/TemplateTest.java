package dev.adit.config;

import java.net.InetAddress;
import java.net.InetSocketAddress;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TemplateTest
{
    private static final InetSocketAddress LOCAL_V4 = new InetSocketAddress(InetAddress.getLoopbackAddress(), 10000);
    private static final InetSocketAddress REMOTE_V6 = new InetSocketAddress("0:0:0:0:0:0:0:1", 43210);

    @Test
    void operatorsAreFilledInAsEnvoyPrintsThem()
    {
        Template t = Template.parse("%DOWNSTREAM_LOCAL_ADDRESS%|%DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT%|%DOWNSTREAM_LOCAL_PORT%|"
            + "%DOWNSTREAM_REMOTE_ADDRESS%|%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%|%DOWNSTREAM_REMOTE_PORT%");
        assertThat(t.isLiteral()).isFalse();
        assertThat(t.render(LOCAL_V4, REMOTE_V6)).isEqualTo("127.0.0.1:10000|127.0.0.1|10000|[::1]:43210|::1|43210");
    }

    @Test
    void textAroundOperatorsAndStrayPercentSignsAreLiteral()
    {
        assertThat(Template.parse("svc-%DOWNSTREAM_LOCAL_PORT%.mesh:443").render(LOCAL_V4, REMOTE_V6)).isEqualTo("svc-10000.mesh:443");
        // Percent-encoded baggage values are not operators.
        Template baggage = Template.parse("k=a%20b%2Cc,100%");
        assertThat(baggage.isLiteral()).isTrue();
        assertThat(baggage.render(LOCAL_V4, REMOTE_V6)).isEqualTo("k=a%20b%2Cc,100%");
    }

    @Test
    void anUnknownOperatorIsAnErrorNotText()
    {
        assertThatThrownBy(() -> Template.parse("%DOWNSTREAM_LOCAL_IP%:80"))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessageContaining("unknown operator %DOWNSTREAM_LOCAL_IP%")
            .hasMessageContaining("%DOWNSTREAM_LOCAL_ADDRESS%");
    }
}
