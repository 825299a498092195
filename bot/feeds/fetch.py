"""Fetching feeds over HTTP, politely and safely.

``Fetcher.fetch(url, etag=…, last_modified=…)`` returns a ``FetchResult`` (a 200 with the body,
or a 304 "not modified") or raises ``FetchError`` whose ``message`` is in plain words
("timed out after 10 s", "server said 503").

Safety:

* only ``http`` and ``https``;
* a host that resolves to a loopback, private, link-local, multicast, reserved or otherwise
  non-public address is refused (SSRF guard), unless ``allow_private`` is set.  The check runs
  before every hop (redirects are followed by hand, at most five) and again at connect time:
  a custom httpcore network backend resolves the name once, checks every address and connects
  to the checked address, so DNS rebinding between check and connect gains nothing;
* the body is streamed and capped (15 MiB), counted both on the wire and after gzip/deflate
  decompression, so neither a huge body nor a gzip bomb can exhaust memory;
* connect/read timeouts plus an overall deadline per fetch.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import threading
import time
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from bot import __version__
from bot.settings import Settings

USER_AGENT = f"wirewatch/{__version__} (RSS/Atom news reader; +https://github.com/wirewatch)"
MAX_BYTES = 15 * 1024 * 1024
MAX_REDIRECTS = 5
FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml, application/xml;q=0.9, "
    "text/xml;q=0.9, text/html;q=0.5, */*;q=0.1"
)
_REDIRECTS = {301, 302, 303, 307, 308}
_MAX_AGE = re.compile(r"(?:^|[,\s])(?:s-)?max-age\s*=\s*\"?(\d+)", re.IGNORECASE)
MAX_HINT_SECONDS = 7 * 24 * 3600


class FetchError(Exception):
    """A fetch that failed; ``message`` is meant for users."""

    def __init__(
        self,
        message: str,
        *,
        kind: str = "network",
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind  # "unsafe" | "timeout" | "http" | "too_large" | "redirects" | ...
        self.status = status
        self.retry_after = retry_after


class UnsafeURL(FetchError):
    """The URL is not allowed (scheme, or an address that is not public)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, kind="unsafe")


@dataclass
class FetchResult:
    url: str  # the final URL, after redirects
    status: int  # 200 (or another 2xx) or 304
    content: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names
    etag: str | None = None
    last_modified: str | None = None
    retry_after: float | None = None  # seconds
    max_age: float | None = None  # seconds, from Cache-Control
    redirects: int = 0
    moved_to: str | None = None  # the new address when every redirect was permanent

    @property
    def not_modified(self) -> bool:
        return self.status == 304


# -- the SSRF guard -------------------------------------------------------------------------


def is_public_address(address: str) -> bool:
    """True for a globally routable unicast address (IPv4-mapped IPv6 judged as IPv4)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    ):
        return False
    return bool(ip.is_global)


def check_url(url: str) -> tuple[str, int]:
    """The (host, port) of an http(s) URL; ``UnsafeURL`` for any other scheme or no host."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UnsafeURL("that is not a valid web address") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        shown = f"{scheme}:" if scheme else "a relative address"
        raise UnsafeURL(f"only http and https feeds are allowed, not {shown}")
    host = parts.hostname
    if not host:
        raise UnsafeURL("that web address has no host name")
    return host, port or (443 if scheme == "https" else 80)


def resolve_public(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to, all checked public; else ``UnsafeURL``/``FetchError``."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise FetchError(f"could not find the host {host}", kind="dns") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise FetchError(f"could not find the host {host}", kind="dns")
    for address in addresses:
        if not is_public_address(address):
            raise UnsafeURL(
                f"{host} is a private, local or reserved address ({address}); "
                "feeds must be on the public internet"
            )
    return addresses


# -- the overall deadline (hardening) ------------------------------------------------------
# httpx's read timeout applies to each socket read, so a server that trickles a byte now and
# then (headers or body: "slow loris") never trips it, and httpx buffers ``iter_raw`` chunks,
# so a per-chunk check is not reached either.  Every socket read and write therefore also
# honours the calling thread's fetch deadline.

_deadline = threading.local()


def _remaining(timeout: float | None) -> float | None:
    deadline: float | None = getattr(_deadline, "at", None)
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise httpcore.ReadTimeout("the fetch deadline passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _remaining(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _remaining(timeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        return _DeadlineStream(
            self._stream.start_tls(ssl_context, server_hostname, _remaining(timeout))
        )

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class DeadlineBackend(httpcore.SyncBackend):
    """Streams whose reads and writes stop at the fetch's overall deadline."""

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        return _DeadlineStream(super().connect_tcp(
            host, port, timeout=_remaining(timeout), local_address=local_address,
            socket_options=socket_options,
        ))


class GuardedBackend(DeadlineBackend):
    """Resolve once, check every address, connect to the checked address (no rebinding)."""

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        addresses = resolve_public(host.strip("[]"), port)
        last: Exception | None = None
        for address in addresses:
            try:
                return super().connect_tcp(
                    address, port, timeout=timeout, local_address=local_address,
                    socket_options=socket_options,
                )
            except httpcore.ConnectError as exc:  # try the next checked address
                last = exc
        assert last is not None
        raise last


# -- header helpers -------------------------------------------------------------------------


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(min(int(value), MAX_HINT_SECONDS))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    delta = (when - (now or datetime.now(UTC))).total_seconds()
    return float(min(max(delta, 0.0), MAX_HINT_SECONDS))


def parse_max_age(value: str | None) -> float | None:
    if not value:
        return None
    if "no-store" in value.lower() or "no-cache" in value.lower():
        return None
    m = _MAX_AGE.search(value)
    return float(min(int(m.group(1)), MAX_HINT_SECONDS)) if m else None


def _seconds(value: float) -> str:
    return f"{value:g} s"


# -- the fetcher ----------------------------------------------------------------------------


class Fetcher:
    """Fetches feeds; safe to share between threads.

    One httpx client (one TLS context, one connection pool) serves every fetch: building a
    client costs ~20 ms, which would dominate a cycle of 304s.  Pooled connections were
    checked by the guarded backend when they were opened.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        allow_private: bool | None = None,
        connect_timeout: float = 5.0,
        read_timeout: float = 10.0,
        total_timeout: float = 60.0,
        max_bytes: int = MAX_BYTES,
        max_redirects: int = MAX_REDIRECTS,
        user_agent: str = USER_AGENT,
    ) -> None:
        if allow_private is None:
            allow_private = settings.allow_private_feeds if settings is not None else False
        self.allow_private = allow_private
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.total_timeout = total_timeout
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self.user_agent = user_agent
        self._shared: httpx.Client | None = None
        self._shared_lock = threading.Lock()

    def client(self) -> httpx.Client:
        with self._shared_lock:
            if self._shared is None:
                self._shared = self._client()
            return self._shared

    def close(self) -> None:
        with self._shared_lock:
            if self._shared is not None:
                self._shared.close()
                self._shared = None

    def _client(self) -> httpx.Client:
        transport = httpx.HTTPTransport(retries=0)
        # Connect-time guard: every TCP connection goes through the checked resolver; and
        # every read/write stops at the fetch's overall deadline.
        transport._pool._network_backend = (
            DeadlineBackend() if self.allow_private else GuardedBackend()
        )
        return httpx.Client(
            transport=transport,
            follow_redirects=False,
            trust_env=False,  # no proxies from the environment: the guard must see the host
            timeout=httpx.Timeout(
                connect=self.connect_timeout, read=self.read_timeout, write=self.read_timeout,
                pool=self.connect_timeout,
            ),
        )

    def check(self, url: str) -> None:
        """Refuse a URL the fetcher would not fetch (scheme, and address unless private ok)."""
        host, port = check_url(url)
        if not self.allow_private:
            resolve_public(host, port)

    def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: str = FEED_ACCEPT,
    ) -> FetchResult:
        deadline = time.monotonic() + self.total_timeout
        _deadline.at = deadline
        try:
            return self._fetch(url, etag, last_modified, accept, deadline)
        finally:
            _deadline.at = None

    def _fetch(
        self, url: str, etag: str | None, last_modified: str | None, accept: str,
        deadline: float,
    ) -> FetchResult:
        headers = {
            "User-Agent": self.user_agent,
            "Accept": accept,
            "Accept-Encoding": "gzip, deflate",
        }
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        current = url
        permanent = True
        client = self.client()
        for hop in range(self.max_redirects + 1):
            self.check(current)
            try:
                with client.stream("GET", current, headers=headers) as response:
                    if response.status_code in _REDIRECTS:
                        location = response.headers.get("location")
                        if not location:
                            raise FetchError(
                                f"server said {response.status_code} without a new "
                                "address", kind="http", status=response.status_code,
                            )
                        current = urljoin(current, location.strip())
                        permanent = permanent and response.status_code in (301, 308)
                        continue
                    result = self._finish(response, current, hop, deadline)
                    if hop and permanent:
                        result.moved_to = current
                    return result
            except httpx.ConnectTimeout:
                raise FetchError(
                    f"timed out connecting after {_seconds(self.connect_timeout)}",
                    kind="timeout",
                ) from None
            except httpx.TimeoutException:
                if time.monotonic() >= deadline:
                    raise FetchError(
                        f"timed out after {_seconds(self.total_timeout)} (too slow)",
                        kind="timeout",
                    ) from None
                raise FetchError(
                    f"timed out after {_seconds(self.read_timeout)}", kind="timeout"
                ) from None
            except httpx.ConnectError:
                host = urlsplit(current).hostname or current
                raise FetchError(f"could not connect to {host}", kind="network") from None
            except httpx.RemoteProtocolError:
                raise FetchError(
                    "the server broke off the connection", kind="network"
                ) from None
            except httpx.HTTPError as exc:
                raise FetchError(
                    f"network error ({type(exc).__name__})", kind="network"
                ) from None
        raise FetchError(
            f"too many redirects (more than {self.max_redirects})", kind="redirects"
        )

    def _finish(
        self, response: httpx.Response, url: str, hops: int, deadline: float
    ) -> FetchResult:
        headers = {k.lower(): v for k, v in response.headers.items()}
        retry_after = parse_retry_after(headers.get("retry-after"))
        status = response.status_code
        if status == 304:
            return FetchResult(
                url=url, status=304, headers=headers, etag=headers.get("etag"),
                last_modified=headers.get("last-modified"), retry_after=retry_after,
                max_age=parse_max_age(headers.get("cache-control")), redirects=hops,
            )
        if status >= 300 or status < 200:
            raise FetchError(
                f"server said {status}", kind="http", status=status, retry_after=retry_after
            )
        content = self._read_body(response, headers, deadline)
        return FetchResult(
            url=url, status=status, content=content, headers=headers,
            etag=headers.get("etag"), last_modified=headers.get("last-modified"),
            retry_after=retry_after, max_age=parse_max_age(headers.get("cache-control")),
            redirects=hops,
        )

    def _too_large(self) -> FetchError:
        return FetchError(
            f"the feed is larger than {self.max_bytes // (1024 * 1024)} MiB", kind="too_large"
        )

    def _read_body(
        self, response: httpx.Response, headers: Mapping[str, str], deadline: float
    ) -> bytes:
        length = headers.get("content-length", "").strip()
        if length.isdigit() and int(length) > self.max_bytes:
            raise self._too_large()
        encoding = headers.get("content-encoding", "identity").strip().lower()
        decoder: Any = None
        if encoding in ("gzip", "x-gzip"):
            decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            decoder = None  # decided on the first bytes: zlib-wrapped or raw
        elif encoding not in ("identity", ""):
            raise FetchError(f"the server used an unknown compression ({encoding[:20]})")
        out = bytearray()
        received = 0
        for chunk in response.iter_raw(chunk_size=64 * 1024):
            if time.monotonic() > deadline:
                raise FetchError(
                    f"timed out after {_seconds(self.total_timeout)} (too slow)", kind="timeout"
                )
            received += len(chunk)
            if received > self.max_bytes:
                raise self._too_large()
            if encoding == "deflate" and decoder is None:
                zlib_wrapped = len(chunk) >= 2 and (chunk[0] * 256 + chunk[1]) % 31 == 0
                decoder = zlib.decompressobj(zlib.MAX_WBITS if zlib_wrapped else -zlib.MAX_WBITS)
            if decoder is None:
                out += chunk
                continue
            data = chunk
            try:
                while data:
                    out += decoder.decompress(data, self.max_bytes - len(out) + 1)
                    if len(out) > self.max_bytes:
                        raise self._too_large()
                    data = decoder.unconsumed_tail
            except zlib.error:
                raise FetchError(
                    "the server sent a damaged compressed body", kind="encoding"
                ) from None
        if decoder is not None:
            try:
                out += decoder.flush(self.max_bytes - len(out) + 1)
            except zlib.error:
                raise FetchError(
                    "the server sent a damaged compressed body", kind="encoding"
                ) from None
            if len(out) > self.max_bytes:
                raise self._too_large()
        return bytes(out)
