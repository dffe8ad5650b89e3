// Node's built-in CONNECT proxies, as shared/notes/peer-figures.md measured them ("Node 20 http",
// "Node 20 http2"): a peer for `bash bench/run --peers`, not part of Adit.
//   node bench/node/proxies.mjs http    # HTTP/1.1 CONNECT (node:http, 'connect' event)
//   node bench/node/proxies.mjs http2   # h2c CONNECT streams (node:http2, prior knowledge)
// Listens on a free port of 127.0.0.1 and prints "listening PORT" on stdout.
import net from 'node:net';
import http from 'node:http';
import http2 from 'node:http2';

const kind = process.argv[2];

// host:port of a CONNECT request; null when it is not one.
function target(authority) {
  const m = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(authority ?? '');
  return m ? { host: m[1], port: Number(m[2]) } : null;
}

let server;
if (kind === 'http') {
  server = http.createServer((req, res) => { res.writeHead(405); res.end(); });
  server.on('connect', (req, socket, head) => {
    const t = target(req.url);
    socket.on('error', () => {});
    if (!t) { socket.end('HTTP/1.1 400 Bad Request\r\n\r\n'); return; }
    const upstream = net.connect({ host: t.host, port: t.port, noDelay: true }, () => {
      socket.setNoDelay(true);
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    upstream.on('error', () => { if (!socket.destroyed) socket.end('HTTP/1.1 502 Bad Gateway\r\n\r\n'); });
    // A side gone for good takes the other with it; an end (FIN) was already carried by pipe().
    socket.on('close', () => upstream.destroy());
    upstream.on('close', () => socket.end());
  });
} else if (kind === 'http2') {
  server = http2.createServer({ settings: { initialWindowSize: 8 << 20 } });
  server.on('stream', (stream, headers) => {
    stream.on('error', () => {});
    const t = headers[':method'] === 'CONNECT' ? target(headers[':authority']) : null;
    if (!t) { stream.respond({ ':status': 400 }, { endStream: true }); return; }
    const upstream = net.connect({ host: t.host, port: t.port, noDelay: true }, () => {
      stream.respond({ ':status': 200 });
      upstream.pipe(stream);
      stream.pipe(upstream);
    });
    upstream.on('error', () => { if (!stream.headersSent) stream.respond({ ':status': 502 }, { endStream: true }); else stream.close(http2.constants.NGHTTP2_CONNECT_ERROR); });
    stream.on('close', () => upstream.destroy());
  });
  server.on('sessionError', () => {});
} else {
  console.error('usage: node proxies.mjs http|http2');
  process.exit(2);
}
server.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
