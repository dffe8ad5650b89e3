package dev.adit.embed;

import javax.net.ssl.SSLSession;

import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.SecureRequestCustomizer;

/**
 * A {@link SecureRequestCustomizer} that does not check a CONNECT's host against the server's
 * certificate, and otherwise does all that the one it replaces did.
 *
 * <p>Why: the SNI host check ({@code jetty.ssl.sniHostCheck}, on by default in jetty-home)
 * answers 400 "Invalid SNI" when the request's host is not a name of the certificate. The host
 * of a CONNECT is its target (RFC 9110 §9.3.6), never this server, so every CONNECT to a name
 * the certificate does not carry would be refused. Other requests, the webapps' included, keep
 * the check; {@code sniRequired} (the client must send an SNI the certificate matches) still
 * applies to CONNECT.</p>
 */
class ConnectSecureRequestCustomizer extends SecureRequestCustomizer
{
    private final SecureRequestCustomizer withoutHostCheck;

    ConnectSecureRequestCustomizer(SecureRequestCustomizer replaced)
    {
        super(replaced.isSniRequired(), replaced.isSniHostCheck(), replaced.getStsMaxAge(), replaced.isStsIncludeSubDomains());
        // No STS header from this one: its response headers are thrown away.
        this.withoutHostCheck = new SecureRequestCustomizer(replaced.isSniRequired(), false, -1, false);
    }

    @Override
    protected void checkSni(Request request, SSLSession session)
    {
        if (HttpMethod.CONNECT.is(request.getMethod()))
            withoutHostCheck.customize(request, HttpFields.build());
        else
            super.checkSni(request, session);
    }
}
