[description]
Adit's encapsulating listeners: each accepts plain TCP and carries every connection through
an HTTP/2 or HTTP/1.1 CONNECT (or POST) tunnel to a cluster (Envoy's tcp_proxy tunneling,
Istio's HBONE outbound). Configured by adit.encaps and adit.encap.<encap>.* in Adit's
configuration; each opens its own port.

[tags]
adit
connector
tunnel

[depend]
adit

[xml]
etc/adit-encap.xml
