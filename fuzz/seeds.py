#!/usr/bin/env python3
"""Writes the hand-made seed inputs of every fuzz target to corpus/<target>/seed-*.

Each input follows the layout its check function documents (fuzz/src/checks/). Run from
anywhere: `python3 fuzz/seeds.py`. Inputs the fuzzer found are kept next to the seeds under
their SHA-1 names (see README.md).
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
KEY = bytes([0x37, 0xFA, 0x21, 0x3D])  # RFC 6455 §5.7

TEXT, BINARY, CONT, CLOSE, PING, PONG = 0x1, 0x2, 0x0, 0x8, 0x9, 0xA


def frame(opcode, payload=b"", fin=True, mask=None, rsv=0, declared=None):
    """A frame built by hand: any opcode, flags, mask, and a declared length."""
    n = len(payload) if declared is None else declared
    out = bytes([(0x80 if fin else 0) | (rsv << 4) | opcode])
    bit = 0x80 if mask else 0
    if n < 126:
        out += bytes([bit | n])
    elif n < 1 << 16:
        out += bytes([bit | 126]) + struct.pack(">H", n)
    else:
        out += bytes([bit | 127]) + struct.pack(">Q", n)
    if mask:
        out += mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    else:
        out += payload
    return out


def close(code, reason=b""):
    return struct.pack(">H", code) + reason


def splits(*sizes):
    """The read sizes of `Splits::read`: a count byte, then one byte per size (b + 1)."""
    return bytes([len(sizes)]) + bytes(sizes)


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


def frames_seeds():
    for target, mask in [("frame_decode_server", KEY), ("frame_decode_client", None)]:
        f = lambda *a, **k: frame(*a, mask=mask, **k)
        wrong = None if mask else KEY  # the masking the other role uses
        # flags: bit 0 fragment delivery, bit 1 auto-pong off, bit 2 four fragments at most
        write(target, "hello", b"\x00" + splits() + f(TEXT, b"Hello"))
        write(target, "fragmented-with-ping-then-close-bytewise",
              b"\x00" + splits(0) + f(TEXT, b"Hel", fin=False) + f(PING, b"p")
              + f(CONT, b"lo") + f(CLOSE, close(1000, b"bye")))
        write(target, "fragment-delivery-char-across-frames",
              b"\x01" + splits(2, 6, 0xF0) + f(BINARY, bytes(range(256)))
              + f(TEXT, "a\U0001F600".encode()[:3], fin=False) + f(CONT, "a\U0001F600".encode()[3:] + b"z"))
        write(target, "invalid-utf8-surrogate-1007",
              b"\x00" + splits(4) + f(TEXT, "κόσμε".encode() + b"\xED\xA0\x80edited"))
        write(target, "wrong-masking-1002", b"\x00" + splits() + frame(TEXT, b"Hi", mask=wrong))
        write(target, "64-bit-length-over-limit-1009", b"\x00" + splits() + f(BINARY, b"", declared=1 << 40))
        write(target, "reserved-opcode-and-rsv", b"\x02" + splits() + f(PING, b"x") + f(0x3, b"") + f(TEXT, b"", rsv=4))
        write(target, "close-no-status-code-1005", b"\x00" + splits() + f(CLOSE, close(1005)))
        write(target, "too-many-fragments", b"\x04" + splits(1) + b"".join(f(BINARY if i == 0 else CONT, b"ab", fin=i == 5) for i in range(6)))
        write(target, "pings-pongs-control-limits",
              b"\x00" + splits(0x10, 0x7F) + f(PING, bytes(125)) + f(PONG, b"ok") + f(PING, bytes(126)))


def handshake_server_seeds():
    t = "handshake_server_request"
    rfc = (b"GET /chat?room=1 HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n"
           b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
           b"Origin: http://example.com\r\nSec-WebSocket-Protocol: chat, superchat\r\n"
           b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
           b"Sec-WebSocket-Version: 13\r\n\r\n")
    # flags: bit 0 small limits, bit 1 accept the first extension, bit 2 try an unoffered
    # subprotocol first, bits 4-7 the subprotocol to select
    write(t, "rfc-request-select-superchat-bytewise", bytes([0x16]) + splits(0) + rfc)
    write(t, "rfc-request-with-first-frame", b"\x00" + splits(0x20) + rfc + frame(TEXT, b"hi", mask=KEY))
    write(t, "post-405", b"\x00" + splits() + rfc.replace(b"GET", b"POST", 1))
    write(t, "no-upgrade-426", b"\x00" + splits() + rfc.replace(b"Upgrade: websocket\r\n", b""))
    write(t, "version-8-426", b"\x00" + splits() + rfc.replace(b"Version: 13", b"Version: 8"))
    write(t, "short-key-400", b"\x00" + splits() + rfc.replace(b"dGhlIHNhbXBsZSBub25jZQ==", b"c2hvcnQ="))
    write(t, "http-1.0-400", b"\x00" + splits() + rfc.replace(b"HTTP/1.1", b"HTTP/1.0", 1))
    write(t, "long-request-line-414-small-limits", b"\x01" + splits(0x0F) + b"GET /" + b"a" * 200 + b" HTTP/1.1\r\n\r\n")
    write(t, "many-headers-431-small-limits", b"\x01" + splits() + b"GET / HTTP/1.1\r\n" + b"X: y\r\n" * 9 + b"\r\n")
    write(t, "bare-lf-absolute-uri", b"\x00" + splits(3) + rfc.replace(b"\r\n", b"\n").replace(b"/chat?room=1", b"ws://h/x"))


def handshake_client_seeds():
    t = "handshake_client_response"
    ok = (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
          b"Sec-WebSocket-Accept: {ACCEPT}\r\n")
    # flags: bit 0 small limits
    write(t, "accepted-chat-extension-and-frame",
          b"\x00" + splits(5, 0x40) + ok + b"Sec-WebSocket-Protocol: chat\r\n"
          b"Sec-WebSocket-Extensions: permessage-foo; x=\"1,2\"\r\n\r\n" + frame(TEXT, b"hi"))
    lower = b"HTTP/1.1 101 OK\r\nupgrade: WebSocket\r\nconnection: keep-alive, upgrade\r\nsec-websocket-accept:{ACCEPT}\r\n"
    write(t, "accepted-lowercase-bytewise", b"\x00" + splits(0) + lower + b"\r\n")
    write(t, "forbidden-403", b"\x00" + splits() + b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
    write(t, "wrong-accept", b"\x00" + splits() + ok.replace(b"{ACCEPT}", b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") + b"\r\n")
    write(t, "unoffered-protocol", b"\x00" + splits() + ok + b"Sec-WebSocket-Protocol: superchat2\r\n\r\n")
    write(t, "unoffered-extension", b"\x00" + splits() + ok + b"Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n")
    write(t, "two-accepts", b"\x00" + splits() + ok + b"Sec-WebSocket-Accept: {ACCEPT}\r\n\r\n")
    write(t, "too-large-small-limits", b"\x01" + splits(0x80) + ok + b"X-Pad: " + b"p" * 600 + b"\r\n\r\n")


def utf8_seeds():
    t = "utf8_incremental"
    write(t, "valid-mixed-bytewise", splits(0) + "aé€😀 κόσμε".encode())
    write(t, "surrogate-split-2-1", splits(1, 0) + "κόσμε".encode() + b"\xED\xA0\x80edited")
    write(t, "out-of-range-with-empty-pieces", splits(2, 0, 1) + b"ab\xF4\x90\x80\x80")
    write(t, "truncated-by-ascii", splits(3) + b"\xF0\x9F\x98(" + b"\xE2\x82")
    write(t, "overlong-and-lone-continuation", splits() + b"\xC0\xAF\x80")
    write(t, "unfinished-at-end", splits(6, 0) + "x𝄞".encode()[:-1])


def roundtrip_seeds():
    t = "roundtrip"

    def msg(op, payload, pieces=b""):
        return bytes([op]) + struct.pack(">H", len(payload)) + payload + pieces
    # flags: bit 0 client sends, bit 1 fragment delivery, bit 2 fragment size x64
    write(t, "server-text-and-binary", b"\x00\x00" + splits() + msg(1, "héllo".encode()) + msg(0, bytes(300)))
    write(t, "client-fragment-size-3-bytewise", b"\x01\x03" + splits(0) + msg(1, "€uro 😀".encode()) + msg(0, b"\x00\xff" * 10))
    write(t, "client-shared-bytes-zero-copy-size", b"\x01\x00" + splits(0xF2) + msg(2, bytes(range(256)) * 3))
    write(t, "pieces-with-pings-fragment-delivery",
          b"\x03\x00" + splits(4, 9) + msg(1 | 4 | 8, "日本語テキスト".encode(), bytes([2, 5, 1, 0])) + msg(4 | 8, b"binary!", bytes([3, 0])))
    write(t, "server-large-frames-x64", b"\x04\x02" + splits(0xF3) + msg(0, bytes(1000)))


def ops_seeds():
    t = "connection_ops"
    C, S, NOPOP = 0x00, 0x80, 0x40

    def deliver(side, n=0xFFFF, read=0xFF):
        return bytes([6 | side]) + struct.pack(">H", n) + bytes([read])

    def text(side, s):
        return bytes([0 | side, len(s)]) + s

    # flags: bit 0/1 fragment delivery client/server, bit 2/3 auto-pong off client/server,
    # bit 4 flush at the end, bit 5/6 close from client/server at the end
    write(t, "echo-then-client-close-flushed",
          b"\x30\x00\x00" + text(C, b"hello") + deliver(C) + text(S, b"hello") + deliver(S, read=2))
    write(t, "fragments-pings-keepalive",
          b"\x12\x04\x00" + bytes([2 | C, 1, 3]) + "é".encode() + b"a" + bytes([3 | C, 2]) + b"pi"
          + bytes([2 | C, 3, 2]) + b"zz" + deliver(C, read=1) + bytes([11, 60, 11, 60]) + deliver(S) + deliver(C))
    write(t, "oversized-message-1009",
          b"\x10\x00\x00" + bytes([1 | C, 0xE0]) + b"abcd" + deliver(C) + deliver(S))
    write(t, "server-close-code-reason-partial-delivery",
          b"\x10\x00\x00" + bytes([5 | S, 13, 4]) + b"done" + deliver(S, n=3) + deliver(S, read=1)
          + deliver(C) + bytes([13 | C]))
    write(t, "garbage-injected-lazily",
          b"\x00\x00\x00" + bytes([10 | S | NOPOP, 6]) + b"\x81\x05Hello"[:6] + text(S, b"x")
          + bytes([14 | S]) + bytes([11, 200, 11, 200]))
    write(t, "refused-commands", b"\x00\x00\x00" + bytes([5 | C, 15, 0]) + bytes([3 | C, 130]) + bytes(130)
          + bytes([2 | C, 1, 1]) + b"\xff" + bytes([1 | S, 0xFF]) + b"ab" + bytes([1 | S, 1]) + b"x")
    # A client whose writes are backed up (three 896-byte messages, the peer reads one byte a
    # second) while the server keeps talking: keep-alive pings must not grow the queue.
    backed_up = b"\x00\x00\x00" + (bytes([1 | C, 0xC6]) + b"abcd") * 3
    for _ in range(60):
        backed_up += bytes([11, 60]) + deliver(C, n=1, read=0) + bytes([4 | S, 1]) + b"x" + deliver(S)
    write(t, "keep-alive-pings-under-backpressure", backed_up)
    # The server closes; a ping and a reserved opcode arrive but are not popped before the
    # close timeout: the timeout is the outcome, and `receive` must not fail afterwards.
    write(t, "protocol-error-waiting-behind-events-at-close-timeout",
          b"\x00\x00\x00" + bytes([5 | S, 0, 0]) + bytes([10 | S | NOPOP, 8])
          + b"\x89\x80\x00\x00\x00\x00\x83\x80" + bytes([11, 200]) + bytes([10 | S, 2]) + b"ab")


if __name__ == "__main__":
    frames_seeds()
    handshake_server_seeds()
    handshake_client_seeds()
    utf8_seeds()
    roundtrip_seeds()
    ops_seeds()
