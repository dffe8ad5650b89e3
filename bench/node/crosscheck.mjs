// A cross-check of a few rows with the clients the peer figures were measured with: Node's
// built-in net and http2 modules (shared/notes/peer-figures.md). Run by `bash bench/run --node`
// against the Adit the Java rows used; standalone:
//   node bench/node/crosscheck.mjs --http PORT [--seconds 3] [--reps 3]
// The targets run in a child Node process (discard, close-on-accept, echo), the clients here.
// Prints a Markdown table: medians over interleaved repetitions, ratios per repetition.
import net from 'node:net';
import http2 from 'node:http2';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// Resolves with p, or after ms whatever p does: no measurement waits for ever on a stalled peer.
const bounded = (p, ms) => Promise.race([p, sleep(ms)]);

if (process.argv[2] === '--targets') {
  let discarded = 0;
  const listen = (handler) => new Promise((resolve) => {
    const server = net.createServer({ noDelay: true }, handler);
    server.listen(0, '127.0.0.1', () => resolve(server.address().port));
  });
  const discard = await listen((s) => { s.on('data', (d) => { discarded += d.length; }); s.on('error', () => {}); });
  const closer = await listen((s) => { s.on('error', () => {}); s.end(); });
  const echo = await listen((s) => { s.on('error', () => {}); s.pipe(s); });
  process.on('message', (m) => { if (m === 'count') process.send({ discarded }); });
  process.send({ discard, closer, echo });
} else {
  await main();
}

async function main() {
  const args = Object.fromEntries(process.argv.slice(2).reduce((acc, v, i, a) => (i % 2 === 0 ? [...acc, [v.replace(/^--/, ''), a[i + 1]]] : acc), []));
  const aditPort = Number(args.http);
  const seconds = Number(args.seconds ?? 3);
  const reps = Number(args.reps ?? 3);
  const targets = fork(fileURLToPath(import.meta.url), ['--targets']);
  const ports = await new Promise((r) => targets.once('message', r));
  const discarded = () => new Promise((r) => { targets.once('message', (m) => r(m.discarded)); targets.send('count'); });

  // A duplex stream to host:port, direct or through Adit (HTTP/1.1 CONNECT or an h2c CONNECT stream).
  const h2c = { session: null };
  async function open(via, port) {
    if (via === 'direct') {
      const s = net.connect({ port, host: '127.0.0.1', noDelay: true });
      await new Promise((res, rej) => { s.once('connect', res); s.once('error', rej); });
      return s;
    }
    if (via === 'h1') {
      const s = net.connect({ port: aditPort, host: '127.0.0.1', noDelay: true });
      await new Promise((res, rej) => { s.once('connect', res); s.once('error', rej); });
      s.write(`CONNECT 127.0.0.1:${port} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
      let head = Buffer.alloc(0);
      await new Promise((res, rej) => {
        const onData = (d) => {
          head = Buffer.concat([head, d]);
          const end = head.indexOf('\r\n\r\n');
          if (end < 0) return;
          s.off('data', onData);
          if (!/^HTTP\/1\.1 2\d\d/.test(head.toString('latin1'))) return rej(new Error(head.toString('latin1', 0, end)));
          s.pause();
          const rest = head.subarray(end + 4);
          if (rest.length) s.unshift(rest);
          res();
        };
        s.on('data', onData);
        s.once('error', rej);
      });
      return s;
    }
    if (!h2c.session || h2c.session.destroyed || h2c.session.closed) {
      const session = http2.connect(`http://127.0.0.1:${aditPort}`, { settings: { initialWindowSize: 8 << 20 } });
      session.on('error', () => {});
      session.on('goaway', (code) => console.error(`node: h2c GOAWAY from Adit, code ${code}`));
      h2c.session = session;
      await new Promise((res, rej) => { session.once('connect', res); session.once('close', () => rej(new Error('h2c session closed'))); });
    }
    const stream = h2c.session.request({ ':method': 'CONNECT', ':authority': `127.0.0.1:${port}` });
    await new Promise((res, rej) => {
      stream.once('response', (h) => (h[':status'] === 200 ? res() : rej(new Error('status ' + h[':status']))));
      stream.once('error', rej);
      stream.once('close', () => rej(new Error(`stream closed before a response (RST code ${stream.rstCode})`)));
    });
    return stream;
  }
  const closeH2 = () => { if (h2c.session) { h2c.session.destroy(); h2c.session = null; } };

  async function bulkUpload(via) {
    const s = await open(via, ports.discard);
    s.on('error', () => {});
    const chunk = Buffer.alloc(65536);
    let stop = false;
    const pump = () => { while (!stop && s.write(chunk)); if (!stop) s.once('drain', pump); };
    pump();
    await sleep(500);
    const c0 = await discarded(); const t0 = process.hrtime.bigint();
    await sleep(seconds * 1000);
    const c1 = await discarded(); const t1 = process.hrtime.bigint();
    stop = true; s.destroy(); closeH2();
    return ((c1 - c0) * 8) / (Number(t1 - t0) / 1e9) / 1e9; // Gbit/s
  }

  async function setup(via) {
    let done = 0; let stop = false; let errors = 0;
    const loop = async () => {
      while (!stop) {
        try {
          const s = await open(via, ports.closer);
          // The target closes: wait for the end (EOF / END_STREAM), then end our side the same
          // clean way (FIN / END_STREAM) and wait for the close. No RST_STREAM: a client that
          // cancels streams rapidly looks like a rapid-reset attack to an HTTP/2 server.
          await bounded(new Promise((res) => { s.once('end', res); s.once('close', res); s.once('error', res); s.resume(); }), 10000);
          s.end();
          await bounded(new Promise((res) => { if (s.closed || s.destroyed) res(); s.once('close', res); }), 10000);
          if (!s.destroyed) { s.destroy(); errors++; } else { done++; }
        } catch { errors++; await sleep(10); }
      }
    };
    const loops = Array.from({ length: 32 }, loop);
    await sleep(500);
    const c0 = done; const t0 = process.hrtime.bigint();
    await sleep(seconds * 1000);
    const c1 = done; const t1 = process.hrtime.bigint();
    stop = true; await bounded(Promise.all(loops), 15000); closeH2();
    if (errors > 0) console.error(`node: setup over ${via}: ${errors} failed attempts`);
    return (c1 - c0) / (Number(t1 - t0) / 1e9);
  }

  async function echo(via) {
    const s = await open(via, ports.echo);
    s.resume();
    const ping = Buffer.alloc(64); const rtts = [];
    for (let i = -1000; i < 3000; i++) {
      const t0 = process.hrtime.bigint();
      const answered = await bounded(new Promise((res) => {
        let got = 0;
        const onData = (d) => { got += d.length; if (got >= 64) { s.off('data', onData); res(true); } };
        s.on('data', onData);
        s.write(ping);
      }), 10000);
      if (answered !== true) throw new Error('no echo within 10 s');
      if (i >= 0) rtts.push(Number(process.hrtime.bigint() - t0) / 1000);
    }
    s.destroy(); closeH2();
    rtts.sort((a, b) => a - b);
    return rtts[Math.ceil(0.5 * rtts.length) - 1];
  }

  const rows = [
    ['bulk upload, 1 tunnel', 'Gbit/s', bulkUpload, 'rate'],
    ['setup, target closes, 32 clients', 'tunnels/s', setup, 'rate'],
    ['echo RTT p50, 64 B', 'µs', echo, 'latency'],
  ];
  const vias = ['h1', 'h2c'];
  const results = {};
  for (let rep = 1; rep <= reps; rep++) {
    for (const [name, , fn] of rows) {
      const order = ['direct', ...vias];
      if (rep % 2 === 0) order.reverse();
      for (const via of order) {
        await sleep(300);
        let v;
        try { v = await fn(via); } catch (e) { v = NaN; console.error(`${name} ${via}: ${e}`); }
        ((results[name] ??= {})[via] ??= []).push(v);
        console.error(`node rep ${rep}  ${name} ${via}: ${v.toFixed(2)}`);
      }
    }
  }
  const median = (a) => { const v = a.filter(Number.isFinite).sort((x, y) => x - y); return v.length ? (v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2) : NaN; };
  const fmt = (x, unit) => (!Number.isFinite(x) ? 'n/a' : unit === 'Gbit/s' ? x.toFixed(2) : Math.round(x).toLocaleString('en'));
  console.log('| row (Node client) | unit | direct | Adit | Adit vs direct |');
  console.log('|---|---|---:|---:|---:|');
  for (const [name, unit, , kind] of rows) {
    const d = results[name].direct;
    for (const via of vias) {
      const a = results[name][via];
      const per = a.map((x, i) => (kind === 'rate' ? x / d[i] : x - d[i]));
      const c = median(per);
      const cmp = !Number.isFinite(c) ? 'n/a' : kind === 'rate' ? c.toFixed(2) : `${c >= 0 ? '+' : ''}${Math.round(c)} µs`;
      console.log(`| ${name}, ${via} | ${unit} | ${fmt(median(d), unit)} | ${fmt(median(a), unit)} | ${cmp} |`);
    }
  }
  targets.kill();
  process.exit(0);
}
