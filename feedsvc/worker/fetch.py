"""Fetching a feed over HTTP: for `feedsvc import URL` and the worker's scheduled pulls.

Bounded in every way a site can misbehave: each connect and read waits at most
`TIMEOUT` seconds and the whole answer `TOTAL_TIMEOUT`, a body larger than `MAX_BYTES`
is refused, and at most `MAX_REDIRECTS` redirects (to http or https URLs only) are
followed. A conditional GET (the ETag and Last-Modified of the last answer) lets an
unchanged feed answer 304 without a body. Every failure is a `FetchFailed` whose message
is one line saying what went wrong, for the command's error or the source's `last_error`.

The standard library (urllib) is all it needs: one GET per feed, as the worker's purges
and WebSub pings do.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import string
import time
import urllib.request
import zlib
from dataclasses import dataclass
from email.message import Message
from typing import Any, BinaryIO
from urllib.error import HTTPError, URLError
from urllib.parse import quote, urljoin, urlsplit

TIMEOUT = 15.0  # seconds per connect or read
TOTAL_TIMEOUT = 60.0  # seconds for the whole answer
MAX_BYTES = 10 * 1024 * 1024
MAX_REDIRECTS = 10
USER_AGENT = "feedsvc-feed-import/1"
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, "
    "application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, */*;q=0.5"
)
_REDIRECTS = (301, 302, 303, 307, 308)
_CHUNK = 65536


class FetchFailed(Exception):
    """The feed could not be fetched; the message is one line."""


@dataclass(frozen=True)
class Fetched:
    url: str  # where the feed was found, after redirects
    body: bytes
    content_type: str
    etag: str
    last_modified: str


@dataclass(frozen=True)
class NotModified:
    """304: the feed is as it was when its validators were given."""

    url: str


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Redirects are followed by `fetch` itself, so that each is checked and none is read."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def fetch(
    url: str,
    *,
    etag: str = "",
    last_modified: str = "",
    timeout: float = TIMEOUT,
    total_timeout: float = TOTAL_TIMEOUT,
    max_bytes: int = MAX_BYTES,
    user_agent: str = USER_AGENT,
) -> Fetched | NotModified:
    """GETs `url`, following redirects; with `etag` or `last_modified`, conditionally."""
    deadline = time.monotonic() + total_timeout
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        check_url(current)
        headers = {"User-Agent": user_agent, "Accept": ACCEPT}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        try:
            response = _OPENER.open(urllib.request.Request(current, headers=headers), timeout=timeout)
        except HTTPError as error:
            with error:  # closed unread: its body is of no use, and could be large
                if error.code == 304:
                    return NotModified(current)
                location = error.headers.get("Location") if error.code in _REDIRECTS else None
            if location is None:
                reason = f" {error.reason}" if isinstance(error.reason, str) and error.reason else ""
                raise FetchFailed(f"HTTP {error.code}{reason} from {_host(current)}") from None
            # As urllib does: the header's bytes came decoded as ISO-8859-1; non-ASCII and
            # spaces are percent-encoded again.
            current = urljoin(
                current, quote(location.strip(), encoding="iso-8859-1", safe=string.punctuation)
            )
            continue
        except (URLError, OSError, http.client.HTTPException, ValueError) as error:
            raise FetchFailed(_failure(error, current, timeout)) from None
        with response:
            body = _body(response, response.headers, current, max_bytes, deadline, (timeout, total_timeout))
            return Fetched(
                url=response.geturl() or current,
                body=body,
                content_type=response.headers.get("Content-Type", ""),
                etag=response.headers.get("ETag", "").strip(),
                last_modified=response.headers.get("Last-Modified", "").strip(),
            )
    raise FetchFailed(f"more than {MAX_REDIRECTS} redirects, the last to {current}")


def check_url(url: str) -> None:
    """FetchFailed unless `url` is an absolute http(s) URL."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is no number
    except ValueError:
        raise FetchFailed(f"not a valid URL: {url!r}") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise FetchFailed(f"not an http(s) URL: {url!r}")


def _body(
    response: BinaryIO,
    headers: Message,
    url: str,
    max_bytes: int,
    deadline: float,
    timeouts: tuple[float, float],
) -> bytes:
    """The body, decoded from gzip or deflate when the server sent it so, within the limits
    (`timeouts`: per read, in all)."""
    declared = headers.get("Content-Length", "")
    if declared.strip().isdigit() and int(declared) > max_bytes:
        raise FetchFailed(f"the feed is larger than {_size(max_bytes)} ({_size(int(declared))})")
    encoding = headers.get("Content-Encoding", "identity").strip().lower()
    if encoding in ("gzip", "x-gzip"):
        decoder: Any = zlib.decompressobj(16 + zlib.MAX_WBITS)
    elif encoding == "deflate":
        decoder = zlib.decompressobj()
    elif encoding in ("", "identity"):
        decoder = None
    else:
        raise FetchFailed(f"the feed came encoded as {encoding!r}, which feedsvc cannot read")
    parts: list[bytes] = []
    size = 0
    try:
        while chunk := response.read(_CHUNK):
            if decoder is not None:
                chunk = decoder.decompress(chunk, max_bytes + 1 - size)
            size += len(chunk)
            if size > max_bytes:
                raise FetchFailed(f"the feed is larger than {_size(max_bytes)}")
            parts.append(chunk)
            if time.monotonic() > deadline:
                raise FetchFailed(f"{_host(url)} took longer than {timeouts[1]:g} s to send the feed")
    except zlib.error:
        raise FetchFailed(f"the feed's {encoding} encoding is broken") from None
    except (OSError, http.client.HTTPException) as error:
        raise FetchFailed(_failure(error, url, timeouts[0])) from None
    return b"".join(parts)


def _failure(error: BaseException, url: str, timeout: float) -> str:
    """One line for what kept `url` from answering."""
    reason: object = error.reason if isinstance(error, URLError) else error
    if isinstance(reason, ValueError):
        return f"not a valid URL: {url!r}"
    return network_failure(reason, _host(url), timeout)


def network_failure(reason: object, host: str, timeout: float) -> str:
    """One line for what kept `host` from answering: DNS, a timeout, a refusal, TLS, a
    broken answer (for the feed sources' and the webhooks' logs alike)."""
    if isinstance(reason, socket.gaierror):
        return f"cannot resolve the host name {host!r} (DNS)"
    if isinstance(reason, TimeoutError):
        return f"no answer from {host} within {timeout:g} s"
    if isinstance(reason, ConnectionRefusedError):
        return f"{host} refused the connection"
    if isinstance(reason, ssl.SSLCertVerificationError):
        return f"the TLS certificate of {host} is not valid: {reason.verify_message}"
    if isinstance(reason, ssl.SSLError):
        return f"TLS with {host} failed: {reason.reason or reason}"
    if isinstance(reason, http.client.HTTPException):
        return f"{host} sent a broken HTTP answer ({type(reason).__name__})"
    if isinstance(reason, OSError):
        return f"cannot reach {host}: {reason.strerror or reason}"
    return f"cannot reach {host}: {reason}"


def _host(url: str) -> str:
    try:
        parts = urlsplit(url)
        return parts.netloc or url
    except ValueError:
        return url


def _size(count: int) -> str:
    return f"{count / 1024 / 1024:g} MiB" if count >= 1024 * 1024 else f"{count} bytes"
