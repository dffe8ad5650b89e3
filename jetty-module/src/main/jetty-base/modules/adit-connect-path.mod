# Adit: HTTP/2 plain CONNECT for webapps

[description]
Gives every plain CONNECT request (HTTP/1.1, and HTTP/2 CONNECT, which has no :path) a path,
so that it reaches a webapp whose servlet serves tunnels, such as Adit's sample WAR. Without
it Jetty finds no context for an HTTP/2 CONNECT (404, or 500 with several contexts).
Extended CONNECT keeps its own :path. Not needed with the adit module, whose handler serves
CONNECT in front of the contexts itself.

[tags]
adit
handler

[depend]
server

[after]
http2
http2c

[lib]
# Only Adit's own jar: this module runs ConnectPathHandler alone, and the WAR carries its
# own copies of Adit and its libraries in WEB-INF/lib. The archive's other jars on the server
# class path would reach every webapp parent-first where they are jakarta.* (Jetty's protected
# classes): jakarta.annotation-api 2.1 would shadow ee11's 3.0.
lib/adit/tunnel-servlet-*.jar

[xml]
etc/adit-connect-path.xml

[ini-template]
# tag::ini-template[]
## The path plain CONNECT requests are given: / reaches the root context (a WAR deployed as
## webapps/ROOT.war); for a webapp at /tunnels use /tunnels/ (with the slash).
# adit.connectPath.path=/
# end::ini-template[]
