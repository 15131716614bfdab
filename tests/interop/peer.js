#!/usr/bin/env node
// Node `ws` peer for wsproto's interop test (tests/interop.rs).
//
//   node peer.js client PORT   connect to ws://127.0.0.1:PORT/<case> once per case and run it
//   node peer.js server        serve on 127.0.0.1 (port chosen by the OS, printed first) until
//                              stdin reaches end of file
//
// Every check prints one JSON line on stdout ({"check": ..., "ok": true|false, ...}); the last
// line is {"summary": true, "cases": [...], "checks": N, "failed": M}. The exit status is 0 only
// when every check passed. The cases and what each side does are described in tests/interop.rs.
'use strict';

const WebSocket = require('ws');
const { WebSocketServer } = WebSocket;
const wsVersion = require('ws/package.json').version;

const HOST = '127.0.0.1';
const CASES = ['echo', 'pipeline', 'ping-peer', 'ping-us', 'close-peer', 'close-us', 'fragments'];
const BYE = 'bye \u2713'; // "bye ✓"
const STEP = 30_000; // longest wait for any one message, pong or close (ms)
const DEADLINE = 100_000; // the whole run (ms)
const MAX_PAYLOAD = 64 << 20;
const PING_PAYLOADS = [
  Buffer.alloc(0),
  Buffer.from('ws'),
  Buffer.from(Array.from({ length: 125 }, (_, i) => i)),
  Buffer.from('\u2713 \u{1F600}'),
];
const SIZES = [0, 125, 126, 65535, 65536, 16 << 20];

let role = process.argv[2] || '?';
let checks = 0;
let failed = 0;
const seen = [];

function report(kase, check, ok, detail = {}) {
  checks += 1;
  if (!ok) failed += 1;
  const line = { peer: 'node', version: wsVersion, role, case: kase, check, ok: !!ok, ...detail };
  process.stdout.write(JSON.stringify(line) + '\n');
}

function textOf(n) {
  return 'abcdefghijklmnopqrstuvwxyz'.repeat(Math.floor(n / 26) + 1).slice(0, n);
}

function binaryOf(n) {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = i % 251;
  return b;
}

// A message as the tests compare it: text as a JS string, binary as a Buffer.
function msg(isBinary, data) {
  return isBinary ? { isBinary, data } : { isBinary, data: data.toString('utf8') };
}

function same(a, b) {
  if (a.isBinary !== b.isBinary) return false;
  return a.isBinary ? a.data.equals(b.data) : a.data === b.data;
}

function describe(m) {
  if (m === null) return 'closed';
  return `${m.isBinary ? 'binary' : 'text'}/${m.isBinary ? m.data.length : Buffer.byteLength(m.data)}`;
}

function* echoMessages() {
  for (const n of SIZES) {
    yield [`text-${n}`, msg(false, textOf(n))];
    yield [`binary-${n}`, msg(true, binaryOf(n))];
  }
  yield ['utf8-mixed', msg(false, 'h\u00e9llo w\u00f6rld \u2713 \u{1D11E} \u{1F600} \u4e2d\u6587')];
  yield ['utf8-4byte-65536', msg(false, '\u{1F600}'.repeat(16384))];
  yield ['utf8-mixed-1MB', msg(false, 'a\u00e9\u2713\u{1F600}'.repeat(100_000))];
}

function pipelinedMessages() {
  const out = [];
  for (let i = 0; i < 1000; i++) {
    out.push(i % 2 === 0 ? msg(false, `pipelined ${i} \u2713`) : msg(true, binaryOf((i * 7) % 300)));
  }
  return out;
}

function withTimeout(promise, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), STEP);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// Wraps a socket: an in-order queue of received messages, the pings it answered, its close.
function wrap(ws) {
  const queue = [];
  const waiters = [];
  const state = { lastPing: null, closed: null };
  let closedResolve;
  state.whenClosed = new Promise((resolve) => (closedResolve = resolve));
  ws.on('message', (data, isBinary) => {
    const m = msg(isBinary, data);
    if (waiters.length) waiters.shift()(m);
    else queue.push(m);
  });
  // ws answers every ping itself (autoPong); this only records the payload.
  ws.on('ping', (data) => (state.lastPing = Buffer.from(data)));
  ws.on('close', (code, reason) => {
    state.closed = { code, reason: reason.toString('utf8') };
    while (waiters.length) waiters.shift()(null);
    closedResolve(state.closed);
  });
  ws.on('error', (e) => report('?', 'socket-error', false, { error: String(e) }));
  return {
    ws,
    state,
    recv() {
      if (queue.length) return Promise.resolve(queue.shift());
      if (state.closed) return Promise.resolve(null);
      return withTimeout(new Promise((resolve) => waiters.push(resolve)), 'a message');
    },
    send(m) {
      return new Promise((resolve, reject) =>
        ws.send(m.data, { binary: m.isBinary }, (e) => (e ? reject(e) : resolve())),
      );
    },
    closed() {
      return withTimeout(state.whenClosed, 'the close');
    },
  };
}

async function close(s, kase, code, reason, expectCode, expectReason) {
  s.ws.close(code, reason);
  const got = await s.closed();
  const ok = got.code === expectCode && (expectReason === undefined || got.reason === expectReason);
  report(kase, `close-${code}-answered`, ok, { code: got.code, reason: got.reason });
}

async function waitClosedByOther(s, kase, expectCode, expectReason) {
  let extra = 0;
  while ((await s.recv()) !== null) extra += 1;
  const got = await s.closed();
  const ok = got.code === expectCode && got.reason === expectReason && extra === 0;
  report(kase, 'closed-by-wsproto', ok, { code: got.code, reason: got.reason, unexpected_messages: extra });
}

async function driveEcho(s, kase) {
  if (kase === 'pipeline') {
    const sent = pipelinedMessages();
    for (const m of sent) s.ws.send(m.data, { binary: m.isBinary }); // no waiting at all
    const got = [];
    for (let i = 0; i < sent.length; i++) got.push(await s.recv());
    const mismatch = sent.findIndex((m, i) => got[i] === null || !same(m, got[i]));
    report(kase, '1000-pipelined-in-order', mismatch < 0, { first_mismatch: mismatch < 0 ? [] : [mismatch] });
    return;
  }
  for (const [name, m] of echoMessages()) {
    await s.send(m);
    const echo = await s.recv();
    report(kase, name, echo !== null && same(m, echo), { sent: describe(m), got: describe(echo) });
  }
}

// Fragmented messages, split at arbitrary bytes (inside multi-byte characters), one with a
// ping between its fragments.
async function driveFragments(s, kase) {
  const sendFragments = (parts, binary) =>
    parts.forEach((part, i) => s.ws.send(part, { binary, fin: i === parts.length - 1 }));
  const mixed = Buffer.from('h\u00e9llo \u2713 \u{1F600} w\u00f6rld');
  const binary = binaryOf(70_000);
  const utf8 = Buffer.from('\u2713\u{1F600}'.repeat(3000));
  const chunks = (buf, n) => Array.from({ length: Math.ceil(buf.length / n) }, (_, i) => buf.subarray(i * n, (i + 1) * n));
  const messages = [
    ['text-1-byte-per-frame', Array.from(mixed, (_, i) => mixed.subarray(i, i + 1)), msg(false, mixed)],
    ['binary-4-frames-one-empty', [binary.subarray(0, 1), Buffer.alloc(0), binary.subarray(1, 65536), binary.subarray(65536)], msg(true, binary)],
    ['utf8-21kB-in-1000B-frames', chunks(utf8, 1000), msg(false, utf8)],
  ];
  for (const [name, parts, whole] of messages) {
    sendFragments(parts, whole.isBinary);
    const echo = await s.recv();
    report(kase, name, echo !== null && same(whole, echo), { sent: describe(whole), got: describe(echo) });
  }
  const pong = new Promise((resolve) => s.ws.once('pong', (data) => resolve(Buffer.from(data))));
  const half = Buffer.from('first half \u2713 \u{1F600} second half');
  s.ws.send(half.subarray(0, 13), { binary: false, fin: false }); // ends inside the ✓
  s.ws.ping(Buffer.from('mid-message')); // a control frame between fragments
  s.ws.send(half.subarray(13), { binary: false, fin: true });
  const echo = await s.recv();
  report(kase, 'text-ping-between-fragments', echo !== null && same(msg(false, half), echo), { got: describe(echo) });
  let got = null;
  try {
    got = await withTimeout(pong, 'a pong');
  } catch (e) {
    // reported below
  }
  report(kase, 'pong-between-fragments', got !== null && got.toString() === 'mid-message', {
    got: got === null ? null : got.toString('hex'),
  });
}

// We ping wsproto; the pong must carry the same payload.
async function pingWsproto(s, kase) {
  for (const payload of PING_PAYLOADS) {
    const pong = new Promise((resolve) => s.ws.once('pong', (data) => resolve(Buffer.from(data))));
    s.ws.ping(payload);
    let got = null;
    try {
      got = await withTimeout(pong, 'a pong');
    } catch (e) {
      // reported below
    }
    report(kase, `pong-${payload.length}B`, got !== null && got.equals(payload), {
      payload: payload.toString('hex'),
      got: got === null ? null : got.toString('hex'),
    });
  }
}

// wsproto pings us, then sends pinged:<hex>; we answer seen:<hex of the ping we got>.
async function answerPings(s, kase) {
  for (;;) {
    const m = await s.recv();
    if (m === null) throw new Error('closed before "done"');
    if (!m.isBinary && m.data === 'done') return;
    if (!m.isBinary && m.data.startsWith('pinged:')) {
      const expected = m.data.slice(7);
      const got = s.state.lastPing === null ? 'none' : s.state.lastPing.toString('hex');
      report(kase, `ping-${expected.length / 2}B`, got === expected, { expected, seen: got });
      s.state.lastPing = null;
      await s.send(msg(false, 'seen:' + got));
    } else {
      report(kase, 'unexpected-message', false, { got: describe(m) });
    }
  }
}

function checkProtocol(s, kase) {
  report(kase, 'subprotocol', s.ws.protocol === 'chat', { got: s.ws.protocol });
  // As a client, ws offers permessage-deflate; wsproto must decline it.
  report(kase, 'no-extension', s.ws.extensions === '', { got: s.ws.extensions });
}

async function clientCase(port, kase) {
  const ws = new WebSocket(`ws://${HOST}:${port}/${kase}`, ['chat', 'superchat'], {
    maxPayload: MAX_PAYLOAD,
    handshakeTimeout: STEP,
  });
  const s = wrap(ws);
  await withTimeout(
    new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
      ws.once('unexpected-response', (_, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    }),
    'the handshake',
  );
  checkProtocol(s, kase);
  try {
    if (kase === 'echo' || kase === 'pipeline') {
      await driveEcho(s, kase);
      await close(s, kase, 1000, '', 1000);
    } else if (kase === 'ping-peer') {
      await pingWsproto(s, kase);
      await close(s, kase, 1000, '', 1000);
    } else if (kase === 'ping-us') {
      await answerPings(s, kase);
      await close(s, kase, 1000, '', 1000);
    } else if (kase === 'close-peer') {
      // wsproto echoes the code (RFC 6455 §5.5.1); the reason is not required back.
      await close(s, kase, 4000, BYE, 4000);
    } else if (kase === 'close-us') {
      await waitClosedByOther(s, kase, 4000, BYE);
    } else if (kase === 'fragments') {
      await driveFragments(s, kase);
      await close(s, kase, 1000, '', 1000);
    }
  } finally {
    if (!s.state.closed) ws.terminate();
  }
}

async function serverCase(ws, req) {
  const kase = req.url.replace(/^\//, '');
  seen.push(kase);
  const s = wrap(ws);
  checkProtocol(s, kase);
  if (kase === 'echo' || kase === 'pipeline') {
    let count = 0;
    for (;;) {
      const m = await s.recv();
      if (m === null) break;
      await s.send(m);
      count += 1;
    }
    const got = await s.closed();
    report(kase, 'echoed-until-close', got.code === 1000, { messages: count, code: got.code });
  } else if (kase === 'ping-peer') {
    await pingWsproto(s, kase);
    await close(s, kase, 1000, '', 1000);
  } else if (kase === 'ping-us') {
    await answerPings(s, kase);
    await close(s, kase, 1000, '', 1000);
  } else if (kase === 'close-peer') {
    await close(s, kase, 4000, BYE, 4000);
  } else if (kase === 'close-us') {
    await waitClosedByOther(s, kase, 4000, BYE);
  } else if (kase === 'fragments') {
    await driveFragments(s, kase);
    await close(s, kase, 1000, '', 1000);
  } else {
    report(kase, 'known-case', false);
    ws.terminate();
  }
}

async function guarded(kase, promise) {
  try {
    await promise;
  } catch (e) {
    report(kase, 'no-exception', false, { error: String(e && e.stack ? e.message : e) });
  }
}

function finish() {
  const cases = CASES.filter((c) => seen.includes(c));
  const complete = cases.length === CASES.length && seen.every((c) => CASES.includes(c));
  const summary = { summary: true, peer: 'node', cases: complete ? cases : seen, checks, failed };
  process.stdout.write(JSON.stringify(summary) + '\n', () => process.exit(failed === 0 && complete ? 0 : 1));
}

async function main() {
  setTimeout(() => {
    report('all', 'deadline', false, { seconds: DEADLINE / 1000 });
    finish();
  }, DEADLINE);
  if (role === 'client' && process.argv.length === 4) {
    const port = Number(process.argv[3]);
    for (const kase of CASES) {
      seen.push(kase);
      await guarded(kase, clientCase(port, kase));
    }
    finish();
  } else if (role === 'server' && process.argv.length === 3) {
    const wss = new WebSocketServer({
      host: HOST,
      port: 0,
      maxPayload: MAX_PAYLOAD,
      handleProtocols: (protocols) => (protocols.has('chat') ? 'chat' : false),
    });
    const running = [];
    wss.on('connection', (ws, req) => running.push(guarded(req.url.replace(/^\//, ''), serverCase(ws, req))));
    wss.on('listening', () => {
      process.stdout.write(JSON.stringify({ event: 'listening', port: wss.address().port }) + '\n');
    });
    process.stdin.on('end', async () => {
      await Promise.all(running);
      wss.close();
      finish();
    });
    process.stdin.resume();
  } else {
    process.stderr.write('usage: node peer.js client PORT | node peer.js server\n');
    process.exit(2);
  }
}

main();
