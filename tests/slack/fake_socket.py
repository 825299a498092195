"""A minimal local WebSocket server standing in for Slack's Socket Mode endpoint: it
completes the handshake, says hello, sends envelopes, answers pings and records what the
client sends back (the acks).  Stops by itself after ``lifetime`` seconds."""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import struct
import threading
import time
from typing import Any

_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def _frame(payload: bytes, opcode: int = 1) -> bytes:
    head = bytes([0x80 | opcode])
    n = len(payload)
    if n < 126:
        head += bytes([n])
    elif n < 65536:
        head += bytes([126]) + struct.pack("!H", n)
    else:
        head += bytes([127]) + struct.pack("!Q", n)
    return head + payload


class FakeSocketMode:
    def __init__(self, *, lifetime: float = 60.0) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.received: list[dict[str, Any]] = []
        self.connected = threading.Event()
        self._conn: socket.socket | None = None
        self._send_lock = threading.Lock()
        self._stop = threading.Event()
        self._deadline = time.monotonic() + lifetime
        self._thread = threading.Thread(target=self._run, daemon=True)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self._listener.getsockname()[1]}/link/?ticket=t1"

    def start(self) -> FakeSocketMode:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def send(self, message: dict[str, Any]) -> None:
        assert self._conn is not None
        with self._send_lock:
            self._conn.sendall(_frame(json.dumps(message).encode()))

    def wait_received(self, predicate: Any, timeout: float = 10.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in list(self.received):
                if predicate(message):
                    return message
            time.sleep(0.02)
        raise AssertionError(f"nothing matched; received {self.received!r}")

    # -- server loop -------------------------------------------------------------------------

    def _alive(self) -> bool:
        return not self._stop.is_set() and time.monotonic() < self._deadline

    def _run(self) -> None:
        try:
            while self._alive():
                try:
                    conn, _ = self._listener.accept()
                except TimeoutError:
                    continue
                self._serve(conn)
        finally:
            self._listener.close()

    def _read_exact(self, conn: socket.socket, n: int) -> bytes:
        data = b""
        while len(data) < n:
            if not self._alive():
                raise ConnectionError("stopping")
            try:
                chunk = conn.recv(n - len(data))
            except TimeoutError:
                continue
            if not chunk:
                raise ConnectionError("closed")
            data += chunk
        return data

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(0.2)
        try:
            request = b""
            while b"\r\n\r\n" not in request:
                request += self._read_exact(conn, 1)
            key = ""
            for line in request.decode().split("\r\n"):
                if line.lower().startswith("sec-websocket-key:"):
                    key = line.split(":", 1)[1].strip()
            accept = base64.b64encode(hashlib.sha1((key + _GUID).encode()).digest()).decode()
            conn.sendall(
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept.encode() + b"\r\n\r\n"
            )
            self._conn = conn
            self.send({"type": "hello", "num_connections": 1,
                       "connection_info": {"app_id": "A111"}})
            self.connected.set()
            while self._alive():
                b0, b1 = self._read_exact(conn, 2)
                opcode, length = b0 & 0x0F, b1 & 0x7F
                if length == 126:
                    length = struct.unpack("!H", self._read_exact(conn, 2))[0]
                elif length == 127:
                    length = struct.unpack("!Q", self._read_exact(conn, 8))[0]
                mask = self._read_exact(conn, 4) if b1 & 0x80 else b"\0\0\0\0"
                data = bytes(b ^ mask[i % 4] for i, b in enumerate(self._read_exact(conn, length)))
                if opcode == 9:  # ping
                    with self._send_lock:
                        conn.sendall(_frame(data, opcode=10))
                elif opcode == 1:
                    self.received.append(json.loads(data.decode()))
                elif opcode == 8:  # close
                    break
        except (ConnectionError, OSError):
            pass
        finally:
            self._conn = None
            conn.close()
