// A cross-check of a few rows with the clients the peer figures were measured with: Node's
// built-in net and http2 modules (shared/notes/peer-figures.md). Run by `bash bench/run --node`
// against the Adit the Java rows used, and by `--peers` against the peer proxies as well;
// standalone:
//   node bench/node/crosscheck.mjs --http PORT [--proxy 'NAME=h1:PORT,h2c:PORT' ...] [--cpu 'NAME=PID[,PID...]' ...] [--seconds 3] [--reps 3]
//   node bench/node/crosscheck.mjs --idle N --proxy 'NAME=VIA:PORT' --pids PID[,PID...]
// The first form prints a Markdown table: medians over interleaved repetitions, ratios per
// repetition against the direct path of the same repetition, every proxy measured in each; with
// --cpu (Adit's name is Adit), also the CPU time those processes of that proxy spent per unit of
// work in the same windows (user + system, /proc/PID/stat, all their threads).
// The second holds N tunnels to the echo target through the proxy, each checked with a 1-byte
// echo, and prints one line with the processes' VmRSS (KiB) before, with the first half held
// and with all held.
// The targets run in a child Node process (discard, close-on-accept, echo), the clients here.
import net from 'node:net';
import http2 from 'node:http2';
import fs from 'node:fs';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// Resolves with p, or after ms whatever p does: no measurement waits for ever on a stalled peer.
const bounded = (p, ms) => Promise.race([p, sleep(ms)]);
// The CPU time in ms of a proxy's processes given by --cpu; NaN for the direct path and others.
const cpu = (via) => (via.pids ? cpuMillis(via.pids) : NaN);

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

// --http PORT is Adit over h1 and h2c; each --proxy 'NAME=h1:PORT,h2c:PORT' adds a proxy.
function parseArgs(argv) {
  const args = { proxies: [] };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, ''); const value = argv[i + 1];
    if (key === 'cpu') {
      const eq = value.lastIndexOf('=');
      (args.cpu ??= {})[value.slice(0, eq)] = value.slice(eq + 1).split(',').map(Number);
    } else if (key === 'http') args.proxies.unshift({ name: 'Adit', vias: [{ kind: 'h1', port: Number(value) }, { kind: 'h2c', port: Number(value) }] });
    else if (key === 'proxy') {
      const eq = value.lastIndexOf('=');
      args.proxies.push({ name: value.slice(0, eq), vias: value.slice(eq + 1).split(',').map((v) => { const [kind, port] = v.split(':'); return { kind, port: Number(port) }; }) });
    } else args[key] = value;
  }
  for (const p of args.proxies) for (const v of p.vias) {
    if (!['h1', 'h2c'].includes(v.kind) || !(v.port > 0)) throw new Error(`bad proxy ${p.name}: ${v.kind}:${v.port}`);
    v.proxy = p.name; v.label = `${p.name}, ${v.kind}`;
    v.pids = args.cpu?.[p.name];
  }
  return args;
}

// CPU time (user + system) of the processes, in ms: /proc/PID/stat counts in USER_HZ ticks, 100 a
// second on Linux. NaN when one of them is gone: its time can no longer be read.
function cpuMillis(pids) {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      return NaN;
    }
  }
  return ticks * 10;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const seconds = Number(args.seconds ?? 3);
  const reps = Number(args.reps ?? 3);
  const targets = fork(fileURLToPath(import.meta.url), ['--targets']);
  const ports = await new Promise((r) => targets.once('message', r));
  const discarded = () => new Promise((r) => { targets.once('message', (m) => r(m.discarded)); targets.send('count'); });
  const direct = { kind: 'direct', label: 'direct' };

  // HTTP/2 sessions by proxy port; a new one when the last is gone or has no stream to spare.
  const sessions = new Map(); const opened = [];
  async function session(port, fresh = false) {
    let s = sessions.get(port);
    if (!fresh && s && !s.destroyed && !s.closed) return s;
    s = http2.connect(`http://127.0.0.1:${port}`, { settings: { initialWindowSize: 8 << 20 } });
    s.on('error', () => {});
    s.on('goaway', (code) => console.error(`node: h2c GOAWAY from port ${port}, code ${code}`));
    sessions.set(port, s); opened.push(s);
    await bounded(new Promise((res, rej) => { s.once('remoteSettings', res); s.once('close', () => rej(new Error('h2c session closed'))); }), 10000);
    return s;
  }
  const closeH2 = () => { for (const s of opened.splice(0)) s.destroy(); sessions.clear(); };

  // A duplex stream to the target port, direct or through a proxy (HTTP/1.1 CONNECT or an h2c CONNECT stream).
  async function open(via, port, h2session) {
    if (via.kind === 'direct') {
      const s = net.connect({ port, host: '127.0.0.1', noDelay: true });
      await new Promise((res, rej) => { s.once('connect', res); s.once('error', rej); });
      return s;
    }
    if (via.kind === 'h1') {
      const s = net.connect({ port: via.port, host: '127.0.0.1', noDelay: true });
      await new Promise((res, rej) => { s.once('connect', res); s.once('error', rej); });
      s.write(`CONNECT 127.0.0.1:${port} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
      let head = Buffer.alloc(0);
      await new Promise((res, rej) => {
        const onData = (d) => {
          head = Buffer.concat([head, d]);
          const end = head.indexOf('\r\n\r\n');
          if (end < 0) return;
          s.off('data', onData);
          // Some peers answer in HTTP/1.0 (tinyproxy): any 2xx opens the tunnel.
          if (!/^HTTP\/1\.[01] 2\d\d/.test(head.toString('latin1'))) { s.destroy(); return rej(new Error(head.toString('latin1', 0, end))); }
          s.pause();
          const rest = head.subarray(end + 4);
          if (rest.length) s.unshift(rest);
          res();
        };
        s.on('data', onData);
        s.once('error', rej);
        s.once('close', () => rej(new Error('closed before a response')));
      });
      return s;
    }
    const stream = (h2session ?? await session(via.port)).request({ ':method': 'CONNECT', ':authority': `127.0.0.1:${port}` });
    await new Promise((res, rej) => {
      stream.once('response', (h) => (h[':status'] === 200 ? res() : rej(new Error('status ' + h[':status']))));
      stream.once('error', rej);
      stream.once('close', () => rej(new Error(`stream closed before a response (RST code ${stream.rstCode})`)));
    });
    return stream;
  }

  if (args.idle) {
    await idle(Number(args.idle), args.proxies[0].vias[0], String(args.pids).split(',').map(Number));
    targets.kill();
    process.exit(0);
  }

  // Holds n tunnels to the echo target, each answered a 1-byte echo, and reports the RSS of the
  // given processes before, with the first half held and with all held: the peers' idle method
  // (fresh processes), and the second half alone, the growth per further tunnel once each
  // proxy's one-off costs (for a JVM: code compiled, heap sized) have been paid.
  async function idle(n, via, pids) {
    const rss = () => pids.map((pid) => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]));
    const before = rss();
    const held = []; let errors = 0; let connections = 0;
    let h2 = null; let room = 0;
    let half = null; let heldAtHalf = 0;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n && errors < 100;) {
      if (half === null && i >= n / 2) { half = rss(); heldAtHalf = held.length; }
      const batch = [];
      for (; batch.length < 64 && i < n; i++) {
        if (via.kind === 'h2c' && room === 0) {
          if (batch.length) break;
          h2 = await session(via.port, true); connections++;
          room = Math.min(1000, h2.remoteSettings.maxConcurrentStreams ?? 100);
        }
        room--;
        batch.push((async () => {
          const s = await bounded(open(via, ports.echo, h2), 10000);
          if (!s) throw new Error('not opened within 10 s');
          s.on('error', () => {});
          const answered = await bounded(new Promise((res) => { s.once('data', () => res(true)); s.resume(); s.write('x'); }), 10000);
          if (answered !== true) throw new Error('no echo');
          held.push(s);
        })().catch(() => { errors++; }));
      }
      await Promise.all(batch);
    }
    const openSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const holding = rss();
    if (half === null) { half = holding; heldAtHalf = held.length; }
    // One tab-separated line: proxy, via, held, connections, errors, seconds to open, tunnels held
    // at the half, VmRSS KiB per pid before, with the first half held, with all held.
    console.log([via.proxy, via.kind, held.length, via.kind === 'h2c' ? connections : held.length, errors, openSeconds.toFixed(1), heldAtHalf,
      before.join(','), half.join(','), holding.join(',')].join('\t'));
    for (const s of held) s.destroy();
    closeH2();
  }

  async function bulkUpload(via, window = seconds) {
    const s = await open(via, ports.discard);
    s.on('error', () => {});
    const chunk = Buffer.alloc(65536);
    let stop = false;
    const pump = () => { while (!stop && s.write(chunk)); if (!stop) s.once('drain', pump); };
    pump();
    await sleep(500);
    const c0 = await discarded(); const t0 = process.hrtime.bigint(); const k0 = cpu(via);
    await sleep(window * 1000);
    const c1 = await discarded(); const t1 = process.hrtime.bigint(); const k1 = cpu(via);
    stop = true; s.destroy(); closeH2();
    // Gbit/s; ms of the proxy's CPU per GB
    return { value: ((c1 - c0) * 8) / (Number(t1 - t0) / 1e9) / 1e9, cost: (k1 - k0) / ((c1 - c0) / 1e9) };
  }

  async function setup(via, window = seconds) {
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
    const c0 = done; const t0 = process.hrtime.bigint(); const k0 = cpu(via);
    await sleep(window * 1000);
    const c1 = done; const t1 = process.hrtime.bigint(); const k1 = cpu(via);
    stop = true; await bounded(Promise.all(loops), 15000); closeH2();
    if (errors > 0) console.error(`node: setup over ${via.label}: ${errors} failed attempts`);
    // tunnels/s; µs of the proxy's CPU per tunnel
    return { value: (c1 - c0) / (Number(t1 - t0) / 1e9), cost: ((k1 - k0) * 1000) / (c1 - c0) };
  }

  async function echo(via) {
    const s = await open(via, ports.echo);
    s.resume();
    const ping = Buffer.alloc(64); const rtts = [];
    let k0 = NaN;
    for (let i = -1000; i < 3000; i++) {
      if (i === 0) k0 = cpu(via);
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
    const k1 = cpu(via);
    s.destroy(); closeH2();
    rtts.sort((a, b) => a - b);
    // µs at p50; µs of the proxy's CPU per round trip
    return { value: rtts[Math.ceil(0.5 * rtts.length) - 1], cost: ((k1 - k0) * 1000) / rtts.length };
  }

  const rows = [
    ['bulk upload, 1 tunnel', 'Gbit/s', bulkUpload, 'rate', 'ms/GB'],
    ['setup, target closes, 32 clients', 'tunnels/s', setup, 'rate', 'µs/tunnel'],
    ['echo RTT p50, 64 B', 'µs', echo, 'latency', 'µs/round trip'],
  ];
  const vias = args.proxies.flatMap((p) => p.vias);
  // Unrecorded: each proxy's first tunnels (a JIT compiler warms up, pools grow) stay out of the figures.
  for (const via of vias) {
    for (const fn of [bulkUpload, setup]) {
      try { await fn(via, 0.5); } catch (e) { closeH2(); console.error(`warm-up ${via.label}: ${e}`); }
    }
  }
  const results = {}; const costs = {};
  for (let rep = 1; rep <= reps; rep++) {
    for (const [name, , fn] of rows) {
      const order = [direct, ...vias];
      if (rep % 2 === 0) order.reverse();
      for (const via of order) {
        await sleep(300);
        let v; let cost;
        try { ({ value: v, cost } = await fn(via)); } catch (e) { v = NaN; cost = NaN; closeH2(); console.error(`${name} ${via.label}: ${e}`); }
        ((results[name] ??= {})[via.label] ??= []).push(v);
        ((costs[name] ??= {})[via.label] ??= []).push(cost);
        console.error(`node rep ${rep}  ${name} ${via.label}: ${v.toFixed(2)}${Number.isFinite(cost) ? `, CPU ${cost.toFixed(1)}` : ''}`);
      }
    }
  }
  const median = (a) => { const v = a.filter(Number.isFinite).sort((x, y) => x - y); return v.length ? (v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2) : NaN; };
  const fmt = (x, unit) => (!Number.isFinite(x) ? 'n/a' : unit === 'Gbit/s' ? x.toFixed(2) : Math.round(x).toLocaleString('en'));
  const several = args.proxies.length > 1;
  const withCpu = vias.some((via) => via.pids);
  const cpuHead = withCpu ? (several ? ' proxy CPU |' : ' Adit CPU |') : ''; const cpuRule = withCpu ? '---:|' : '';
  console.log((several ? '| row (Node client) | via | unit | direct | proxy | vs direct |' : '| row (Node client) | unit | direct | Adit | Adit vs direct |') + cpuHead);
  console.log((several ? '|---|---|---|---:|---:|---:|' : '|---|---|---:|---:|---:|') + cpuRule);
  for (const [name, unit, , kind, costUnit] of rows) {
    const d = results[name].direct;
    for (const via of vias) {
      const a = results[name][via.label];
      const per = a.map((x, i) => (kind === 'rate' ? x / d[i] : x - d[i]));
      const c = median(per);
      const cmp = !Number.isFinite(c) ? 'n/a' : kind === 'rate' ? c.toFixed(2) : `${c >= 0 ? '+' : ''}${Math.round(c)} µs`;
      const k = median(costs[name][via.label]);
      const cpuCell = !withCpu ? '' : ` ${Number.isFinite(k) ? `${Math.round(k).toLocaleString('en')} ${costUnit}` : '–'} |`;
      console.log((several ? `| ${name} | ${via.label} | ${unit} | ${fmt(median(d), unit)} | ${fmt(median(a), unit)} | ${cmp} |`
        : `| ${name}, ${via.kind} | ${unit} | ${fmt(median(d), unit)} | ${fmt(median(a), unit)} | ${cmp} |`) + cpuCell);
    }
  }
  targets.kill();
  process.exit(0);
}
