# Adit: CONNECT for webapps (the sample WAR) on Jetty's connectors

[description]
For a webapp whose servlet serves tunnels, such as Adit's sample WAR. Gives every plain
CONNECT request (HTTP/1.1, and HTTP/2 CONNECT, which has no :path) a path, so that it reaches
the webapp: without it Jetty finds no context for an HTTP/2 CONNECT (404, or 500 with several
contexts). Extended CONNECT keeps its own :path. And adapts Jetty's connectors at start as the
adit module does: HTTP/1.1 early data starting with CR or LF, and a client's last TLS records
after a half-close, reach the tunnel whole; Jetty's SNI host check no longer applies to
CONNECT. Not needed with the adit module, whose handler serves CONNECT in front of the
contexts itself.

[tags]
adit
handler

[depend]
server

[after]
http2
http2c

[lib]
# Only Adit's own jar: this module's classes (ConnectPathHandler, TunnelConnectors) need
# nothing else, and the WAR carries its own copies of Adit and its libraries in WEB-INF/lib.
# The archive's other jars on the server class path would reach every webapp parent-first
# where they are jakarta.* (Jetty's protected classes): jakarta.annotation-api 2.1 would
# shadow ee11's 3.0.
lib/adit/tunnel-servlet-*.jar

[xml]
etc/adit-connect-path.xml

[ini-template]
# tag::ini-template[]
## The path plain CONNECT requests are given: / reaches the root context (a WAR deployed as
## webapps/ROOT.war); for a webapp at /tunnels use /tunnels/ (with the slash).
# adit.connectPath.path=/
##
## The idle timeout of HTTP/2 streams (ms) on connectors whose HTTP/2 factory has none, as
## adit.h2.stream-idle-timeout in the adit module: Jetty would give them the connector's idle
## timeout (jetty.http.idleTimeout). 0 leaves Jetty's alone.
# adit.connectPath.h2StreamIdleTimeout=3600000
# end::ini-template[]
