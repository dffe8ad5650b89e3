#!/usr/bin/python3
"""HTTP/2 CONNECT echo check with python3-h2 (Debian's package), a client nobody here wrote.

usage: h2_connect_echo.py PROXY_HOST PROXY_PORT (h2c|h2) TARGET STREAMS BYTES [SEED]
                          [--protocol PROTOCOL --path PATH | --post PATH]

Opens STREAMS concurrent CONNECT streams (RFC 9113 §8.5: only :method and :authority) over
one connection, sends BYTES random bytes on each, half-closes, reads the echo to END_STREAM
and compares SHA-256 digests. Prints one line per stream and exits 0 when all match.

--protocol and --path make them extended CONNECT streams (RFC 8441: :protocol, :scheme and
:path as well); --post makes them POST tunnels (Envoy's allow_post): POST to PATH with TARGET
as :authority, the bytes as the request body, the echo as the response body.
"""
import argparse
import hashlib
import random
import socket
import ssl
import sys
import time

import h2.config
import h2.connection
import h2.events
import h2.settings

DEADLINE = time.monotonic() + 60


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("mode", choices=["h2c", "h2"])
    parser.add_argument("target")
    parser.add_argument("streams", type=int)
    parser.add_argument("size", type=int)
    parser.add_argument("seed", type=int, nargs="?", default=1)
    parser.add_argument("--protocol")
    parser.add_argument("--path")
    parser.add_argument("--post", metavar="PATH")
    args = parser.parse_args()
    if (args.protocol is None) != (args.path is None) or (args.post and args.protocol):
        parser.error("--protocol goes with --path, and neither with --post")
    host, port, mode, target = args.host, args.port, args.mode, args.target
    streams, size, seed = args.streams, args.size, args.seed
    scheme = "https" if mode == "h2" else "http"
    if args.post:
        request = [(":method", "POST"), (":scheme", scheme), (":path", args.post), (":authority", target),
                   ("content-type", "application/octet-stream")]
    elif args.protocol:
        request = [(":method", "CONNECT"), (":protocol", args.protocol), (":scheme", scheme), (":path", args.path),
                   (":authority", target)]
    else:
        request = [(":method", "CONNECT"), (":authority", target)]
    sock = socket.create_connection((host, port), timeout=10)
    if mode == "h2":
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.set_alpn_protocols(["h2"])
        sock = ctx.wrap_socket(sock, server_hostname=host)
        if sock.selected_alpn_protocol() != "h2":
            sys.exit("ALPN did not select h2: %r" % sock.selected_alpn_protocol())
    sock.settimeout(10)
    # python3-h2 4.1 insists on :path for every request; RFC 9113 §8.5 forbids it on CONNECT.
    conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True, validate_outbound_headers=False))
    # python3-h2 announces SETTINGS_ENABLE_CONNECT_PROTOCOL=0 for itself (legal, RFC 8441 §3),
    # and Jetty 12.1.12 applies a peer's value to its own session, then refuses every extended
    # CONNECT with RST_STREAM(PROTOCOL_ERROR). Leave the setting out, as most clients do.
    del conn.local_settings[h2.settings.SettingCodes.ENABLE_CONNECT_PROTOCOL]
    conn.initiate_connection()
    conn.increment_flow_control_window(16 * 1024 * 1024)
    sock.sendall(conn.data_to_send())

    rng = random.Random(seed)
    state = {}
    for _ in range(streams):
        sid = conn.get_next_available_stream_id()
        payload = rng.randbytes(size)
        state[sid] = {"out": payload, "sent": 0, "ended": False, "status": None,
                      "in": hashlib.sha256(), "received": 0, "done": False,
                      "want": hashlib.sha256(payload).hexdigest()}
        conn.send_headers(sid, request)
    sock.sendall(conn.data_to_send())

    while not all(s["done"] for s in state.values()):
        if time.monotonic() > DEADLINE:
            sys.exit("timed out: %r" % {k: (v["status"], v["sent"], v["received"]) for k, v in state.items()})
        for sid, s in state.items():
            if s["status"] != 200 or s["ended"]:
                continue
            while s["sent"] < len(s["out"]):
                window = min(conn.local_flow_control_window(sid), conn.max_outbound_frame_size)
                if window <= 0:
                    break
                chunk = s["out"][s["sent"]:s["sent"] + window]
                conn.send_data(sid, chunk)
                s["sent"] += len(chunk)
            if s["sent"] == len(s["out"]):
                conn.end_stream(sid)
                s["ended"] = True
        sock.sendall(conn.data_to_send())
        data = sock.recv(65536)
        if not data:
            sys.exit("proxy closed the connection")
        for event in conn.receive_data(data):
            if isinstance(event, h2.events.ResponseReceived):
                status = int(dict(event.headers)[b":status"])
                state[event.stream_id]["status"] = status
                if status != 200:
                    sys.exit("stream %d: status %d" % (event.stream_id, status))
            elif isinstance(event, h2.events.DataReceived):
                s = state[event.stream_id]
                s["in"].update(event.data)
                s["received"] += len(event.data)
                conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, h2.events.StreamEnded):
                state[event.stream_id]["done"] = True
            elif isinstance(event, h2.events.StreamReset):
                sys.exit("stream %d reset with error code %d" % (event.stream_id, event.error_code))
            elif isinstance(event, h2.events.ConnectionTerminated):
                sys.exit("connection terminated: %r" % event)
        sock.sendall(conn.data_to_send())

    ok = True
    for sid, s in sorted(state.items()):
        got = s["in"].hexdigest()
        match = got == s["want"]
        ok = ok and match
        print("stream %d: sent %d received %d sha256 %s %s" % (sid, s["sent"], s["received"], got, "OK" if match else "MISMATCH"))
    conn.close_connection()
    sock.sendall(conn.data_to_send())
    sock.close()
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
