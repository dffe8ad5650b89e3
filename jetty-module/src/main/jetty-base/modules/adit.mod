[description]
Adit: terminates and proxies HTTP/1.1 and HTTP/2 CONNECT (and RFC 8441 extended CONNECT,
POST tunnels) on this server's connectors, in front of every context.
Configured by MicroProfile Config: etc/adit.properties (or jetty.adit.config),
-Dadit.* system properties and ADIT_* environment variables.

[tags]
adit
connect
proxy
tunnel

[depend]
server
# jetty-http2-client (HTTP/2 clusters) and the ALPN client: the only Jetty jars Adit uses
# that jetty-home does not ship; --add-modules copies them into the base from the local
# Maven repository, or downloads them from Maven Central.
http2-client

[after]
http
https
http2
http2c
ssl
alpn

[lib]
lib/adit/*.jar

[xml]
etc/adit.xml

[ini]
# Jetty's HTTP/2 defaults are small for tunnels (a 512 KiB stream window caps a tunnel's
# throughput); these are Adit's. Set the same properties in start.d/http2c.ini or
# start.d/http2.ini (or on the command line) to change them.
jetty.http2c.maxConcurrentStreams?=1024
jetty.http2c.initialStreamRecvWindow?=8388608
jetty.http2c.initialSessionRecvWindow?=33554432
jetty.http2.maxConcurrentStreams?=1024
jetty.http2.initialStreamRecvWindow?=8388608
jetty.http2.initialSessionRecvWindow?=33554432

[ini-template]
# tag::documentation[]
## Adit's configuration file: Java properties with the adit.* keys of Adit's README,
## absolute or relative to $JETTY_BASE. Unset: etc/adit.properties if it exists, else
## the defaults. When set, the file must exist. -Dadit.* system properties and ADIT_*
## environment variables override the file's values.
# jetty.adit.config=etc/adit.properties
##
## Jetty's connectors serve the tunnels: set jetty.http.host/port, jetty.ssl.*,
## jetty.sslContext.* (keystore) and jetty.http2c.*/jetty.http2.* as for any Jetty.
## Adit's own listener keys (adit.http.host, adit.tls.*, ...) have no effect here;
## adit.http.upgrades applies to clear-text connectors, adit.https.upgrades to TLS ones.
##
## Safe by default: with the default policy (every destination) and no authentication,
## Adit refuses to start unless every connector is bound to loopback
## (jetty.http.host=127.0.0.1), the policy is restricted (adit.policy.allow) or
## adit.policy.allow-open-proxy=true says an open proxy is meant.
# end::documentation[]
