#!/usr/bin/env python3
"""The seed demo's server, as plain TCP: answers every chunk it receives with
"Echo from server: <chunk>", and ends its side when the client ends its own.

    python3 it/demo/echo-server.py [PORT]      (default 9000, on 127.0.0.1)
"""
import asyncio
import sys


async def serve(reader, writer):
    peer = writer.get_extra_info("peername")
    print(f"New connection from {peer[0]}:{peer[1]}", flush=True)
    while True:
        chunk = await reader.read(65536)
        if not chunk:
            break
        message = chunk.decode("utf-8", "replace")
        print(f"Received from client: {message}", flush=True)
        writer.write(b"Echo from server: " + chunk)
        await writer.drain()
    print("Connection ended by client.", flush=True)
    writer.close()
    await writer.wait_closed()


async def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 9000
    server = await asyncio.start_server(serve, "127.0.0.1", port)
    print(f"Echo server listening on 127.0.0.1:{server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
