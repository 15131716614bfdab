#!/usr/bin/env python3
"""Python `websockets` peer for wsproto's interop test (tests/interop.rs).

    peer.py client PORT   connect to ws://127.0.0.1:PORT/<case> once per case and run it
    peer.py server        serve on 127.0.0.1 (port chosen by the OS, printed first) until
                          stdin reaches end of file

Every check prints one JSON line on stdout ({"check": ..., "ok": true|false, ...}); the last
line is {"summary": true, "cases": [...], "checks": N, "failed": M}. The exit status is 0 only
when every check passed. The cases and what each side does are described in tests/interop.rs.
"""

import asyncio
import json
import sys

import websockets
from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.frames import Frame, Opcode

HOST = "127.0.0.1"
CASES = ["echo", "pipeline", "ping-peer", "ping-us", "close-peer", "close-us", "fragments"]
BYE = "bye \u2713"  # "bye ✓"
STEP = 30.0  # longest wait for any one message, pong or close
DEADLINE = 100.0  # the whole run
PING_PAYLOADS = [b"", b"websockets", bytes(range(125)), "\u2713 \U0001f600".encode()]
SIZES = [0, 125, 126, 65535, 65536, 16 << 20]

ROLE = "?"
CHECKS = 0
FAILED = 0
SEEN = []


def report(case, check, ok, **detail):
    global CHECKS, FAILED
    CHECKS += 1
    FAILED += 0 if ok else 1
    line = {"peer": "python", "version": websockets.__version__, "role": ROLE, "case": case}
    line.update(check=check, ok=bool(ok), **detail)
    print(json.dumps(line, separators=(",", ":")), flush=True)


def text_of(n):
    return ("abcdefghijklmnopqrstuvwxyz" * (n // 26 + 1))[:n]


def binary_of(n):
    return (bytes(range(251)) * (n // 251 + 1))[:n]


def echo_messages():
    for n in SIZES:
        yield f"text-{n}", text_of(n)
        yield f"binary-{n}", binary_of(n)
    yield "utf8-mixed", "h\u00e9llo w\u00f6rld \u2713 \U0001d11e \U0001f600 \u4e2d\u6587"
    yield "utf8-4byte-65536", "\U0001f600" * 16384
    yield "utf8-mixed-1MB", "a\u00e9\u2713\U0001f600" * 100_000


def pipelined_messages():
    for i in range(1000):
        yield f"pipelined {i} \u2713" if i % 2 == 0 else binary_of((i * 7) % 300)


def describe(message):
    kind = "text" if isinstance(message, str) else "binary"
    size = len(message.encode()) if isinstance(message, str) else len(message)
    return f"{kind}/{size}"


class Hooked:
    """Records the payload of every ping the library received (and answered by itself)."""

    def process_event(self, event):
        if isinstance(event, Frame) and event.opcode is Opcode.PING:
            self.last_ping = bytes(event.data)
        super().process_event(event)


class HookedClient(Hooked, ClientConnection):
    last_ping = None


class HookedServer(Hooked, ServerConnection):
    last_ping = None


async def recv(ws):
    return await asyncio.wait_for(ws.recv(), STEP)


async def close(ws, case, code, reason, expect_code, expect_reason=None):
    """Closes, then checks the close frame the other side answered with."""
    await asyncio.wait_for(ws.close(code, reason), STEP)
    await asyncio.wait_for(ws.wait_closed(), STEP)
    got = (ws.close_code, ws.close_reason)
    ok = got[0] == expect_code and (expect_reason is None or got[1] == expect_reason)
    report(case, f"close-{code}-answered", ok, code=got[0], reason=got[1])


async def wait_closed_by_other(ws, case, expect_code, expect_reason):
    """Reads until the other side closes; checks its code and reason."""
    extra = 0
    while True:
        try:
            await recv(ws)
            extra += 1
        except ConnectionClosed:
            break
    await asyncio.wait_for(ws.wait_closed(), STEP)
    rcvd = ws.protocol.close_rcvd
    got = (rcvd.code, rcvd.reason) if rcvd else (None, None)
    ok = got == (expect_code, expect_reason) and extra == 0 and ws.protocol.close_rcvd_then_sent
    report(case, "closed-by-wsproto", ok, code=got[0], reason=got[1], unexpected_messages=extra)


async def drive_echo(ws, case, messages):
    """Sends each message and waits for its echo (or, pipelined, sends all first)."""
    if case == "pipeline":
        sent = list(messages)
        for message in sent:
            await ws.send(message)
        got = [await recv(ws) for _ in sent]
        mismatches = [i for i, (a, b) in enumerate(zip(sent, got)) if a != b or type(a) is not type(b)]
        report(case, "1000-pipelined-in-order", not mismatches, first_mismatch=mismatches[:1])
        return
    for name, message in messages:
        await ws.send(message)
        echo = await recv(ws)
        ok = type(echo) is type(message) and echo == message
        report(case, name, ok, sent=describe(message), got=describe(echo))


async def drive_fragments(ws, case):
    """Fragmented messages (one frame per item), one with a ping between its fragments."""
    mixed = "h\u00e9llo \u2713 \U0001f600 w\u00f6rld"
    binary = binary_of(70_000)
    pongs = []

    async def with_ping():
        yield "first half \u2713 "
        pongs.append(await ws.ping(b"mid-message"))  # a control frame between fragments
        yield "\U0001f600 second half"

    messages = [
        ("text-1-char-per-frame", list(mixed), mixed),
        ("binary-4-frames-one-empty", [binary[:1], b"", binary[1:65536], binary[65536:]], binary),
        ("utf8-21kB-in-2100B-frames", ["\u2713\U0001f600" * 300] * 10, "\u2713\U0001f600" * 3000),
        ("text-ping-between-fragments", with_ping(), "first half \u2713 \U0001f600 second half"),
    ]
    for name, fragments, whole in messages:
        await ws.send(fragments)
        echo = await recv(ws)
        ok = type(echo) is type(whole) and echo == whole
        report(case, name, ok, sent=describe(whole), got=describe(echo))
    try:
        await asyncio.wait_for(pongs[0], STEP)
        report(case, "pong-between-fragments", True)
    except asyncio.TimeoutError:
        report(case, "pong-between-fragments", False, error="no matching pong")


async def ping_wsproto(ws, case):
    """We ping wsproto; the pong must carry the same payload (websockets matches it)."""
    for payload in PING_PAYLOADS:
        waiter = await ws.ping(payload)
        try:
            await asyncio.wait_for(waiter, STEP)
            report(case, f"pong-{len(payload)}B", True, payload=payload.hex())
        except asyncio.TimeoutError:
            report(case, f"pong-{len(payload)}B", False, payload=payload.hex(), error="no matching pong")


async def answer_pings(ws, case):
    """wsproto pings us, then sends pinged:<hex>; we answer seen:<hex of the ping we got>."""
    while True:
        message = await recv(ws)
        if message == "done":
            return
        if isinstance(message, str) and message.startswith("pinged:"):
            seen = ws.last_ping.hex() if ws.last_ping is not None else "none"
            expected = message[7:]
            report(case, f"ping-{len(expected) // 2}B", seen == expected, expected=expected, seen=seen)
            ws.last_ping = None
            await ws.send("seen:" + seen)
        else:
            report(case, "unexpected-message", False, got=describe(message))


async def check_protocol(ws, case):
    report(case, "subprotocol", ws.subprotocol == "chat", got=ws.subprotocol)
    # As a client, websockets offers permessage-deflate; wsproto must decline it.
    extensions = [type(e).__name__ for e in ws.protocol.extensions]
    report(case, "no-extension", not extensions, got=extensions)


async def client_case(port, case):
    uri = f"ws://{HOST}:{port}/{case}"
    async with connect(
        uri,
        subprotocols=["chat", "superchat"],
        max_size=None,
        ping_interval=None,
        create_connection=HookedClient,
        open_timeout=STEP,
    ) as ws:
        await check_protocol(ws, case)
        if case == "echo":
            await drive_echo(ws, case, echo_messages())
            await close(ws, case, 1000, "", 1000)
        elif case == "pipeline":
            await drive_echo(ws, case, pipelined_messages())
            await close(ws, case, 1000, "", 1000)
        elif case == "ping-peer":
            await ping_wsproto(ws, case)
            await close(ws, case, 1000, "", 1000)
        elif case == "ping-us":
            await answer_pings(ws, case)
            await close(ws, case, 1000, "", 1000)
        elif case == "close-peer":
            # wsproto echoes the code (RFC 6455 §5.5.1); the reason is not required back.
            await close(ws, case, 4000, BYE, 4000)
        elif case == "close-us":
            await wait_closed_by_other(ws, case, 4000, BYE)
        elif case == "fragments":
            await drive_fragments(ws, case)
            await close(ws, case, 1000, "", 1000)


async def server_case(ws):
    case = ws.request.path.lstrip("/")
    SEEN.append(case)
    await check_protocol(ws, case)
    if case in ("echo", "pipeline"):
        count = 0
        try:
            while True:
                await ws.send(await recv(ws))
                count += 1
        except ConnectionClosed:
            pass
        report(case, "echoed-until-close", ws.close_code == 1000, messages=count, code=ws.close_code)
    elif case == "ping-peer":
        await ping_wsproto(ws, case)
        await close(ws, case, 1000, "", 1000)
    elif case == "ping-us":
        await answer_pings(ws, case)
        await close(ws, case, 1000, "", 1000)
    elif case == "close-peer":
        await close(ws, case, 4000, BYE, 4000)
    elif case == "close-us":
        await wait_closed_by_other(ws, case, 4000, BYE)
    elif case == "fragments":
        await drive_fragments(ws, case)
        await close(ws, case, 1000, "", 1000)
    else:
        report(case, "known-case", False)


async def guarded(case, coroutine):
    try:
        await coroutine
    except Exception as e:  # noqa: BLE001 - every failure is a failed check
        report(case, "no-exception", False, error=f"{type(e).__name__}: {e}")


async def run_client(port):
    for case in CASES:
        SEEN.append(case)
        await guarded(case, client_case(port, case))


async def run_server():
    async def handler(ws):
        await guarded(ws.request.path.lstrip("/"), server_case(ws))

    async with serve(
        handler,
        HOST,
        0,
        subprotocols=["chat"],
        max_size=None,
        ping_interval=None,
        create_connection=HookedServer,
    ) as server:
        port = server.sockets[0].getsockname()[1]
        print(json.dumps({"event": "listening", "port": port}, separators=(",", ":")), flush=True)
        # Serve until wsproto's test closes our stdin (a pipe; no thread left blocked on it).
        reader = asyncio.StreamReader()
        loop = asyncio.get_running_loop()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        await reader.read()


def main():
    global ROLE
    ROLE = sys.argv[1] if len(sys.argv) > 1 else "?"
    if ROLE == "client" and len(sys.argv) == 3:
        run = run_client(int(sys.argv[2]))
    elif ROLE == "server" and len(sys.argv) == 2:
        run = run_server()
    else:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        asyncio.run(asyncio.wait_for(run, DEADLINE))
    except asyncio.TimeoutError:
        report("all", "deadline", False, seconds=DEADLINE)
    seen = sorted(set(SEEN), key=CASES.index) if set(SEEN) <= set(CASES) else SEEN
    summary = {"summary": True, "peer": "python", "cases": seen, "checks": CHECKS, "failed": FAILED}
    print(json.dumps(summary, separators=(",", ":")), flush=True)
    return 0 if FAILED == 0 and seen == CASES else 1


if __name__ == "__main__":
    sys.exit(main())
