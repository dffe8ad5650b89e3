#!/usr/bin/env python3
"""The seed demo's client: connects over plain TCP, sends "Message N from client!" five times,
reads each echo, then closes. Exits 0 only if every echo came back exactly.

    python3 it/demo/client.py [PORT] [INTERVAL_SECONDS]     (default 10000 and 1, on 127.0.0.1)
"""
import socket
import sys
import time


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
    interval = float(sys.argv[2]) if len(sys.argv) > 2 else 1.0
    ok = True
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        print("Connected to Adit.", flush=True)
        for n in range(1, 6):
            message = f"Message {n} from client!"
            sock.sendall(message.encode())
            expected = f"Echo from server: {message}".encode()
            received = b""
            while len(received) < len(expected):
                chunk = sock.recv(len(expected) - len(received))
                if not chunk:
                    break
                received += chunk
            print(f"Received from server: {received.decode('utf-8', 'replace')}", flush=True)
            ok = ok and received == expected
            if n < 5:
                time.sleep(interval)
        sock.shutdown(socket.SHUT_WR)
        rest = sock.recv(1)
        ok = ok and rest == b""
        print("Disconnected from server.", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
