"""The gunicorn worker of `feedsvc serve`: gthread, with a bound on how long a client may
take to send its request (and to take the answer).

gthread waits for the first byte of a request without a thread, but once a request has
begun, a thread reads it on a blocking socket with no time limit: a client that sends half a
request and stops holds the thread for good, and enough of them stall every poll. Here every
socket read and write of a request gives up after `CLIENT_TIMEOUT` seconds, and the connection
is closed as if the client had reset it (gunicorn logs that at debug level, no traceback).
In production nginx or Varnish buffers requests in front (docs/operations.md), so only a
client that is really stuck ever meets this limit.
"""

from __future__ import annotations

import errno
import socket
from typing import Any

from gunicorn.workers.gthread import ThreadWorker

CLIENT_TIMEOUT = 10.0  # seconds one read or write of a client's socket may take


class _ClientSocket(socket.socket):
    """A client socket whose blocking mode has a timeout, and whose timeout reads as a reset."""

    __slots__ = ()

    def setblocking(self, flag: bool) -> None:
        if flag:
            self.settimeout(CLIENT_TIMEOUT)
        else:
            super().setblocking(False)

    def recv(self, size: int, flags: int = 0) -> bytes:
        try:
            return super().recv(size, flags)
        except TimeoutError:
            raise ConnectionResetError(errno.ECONNRESET, "the client sent nothing in time") from None

    def sendall(self, data: Any, flags: int = 0) -> None:
        try:
            super().sendall(data, flags)
        except TimeoutError:
            raise ConnectionResetError(errno.ECONNRESET, "the client took nothing in time") from None


class ClientTimeoutWorker(ThreadWorker):  # type: ignore[misc]
    """gthread, with `CLIENT_TIMEOUT` on every client socket."""

    def enqueue_req(self, conn: Any) -> None:
        sock = conn.sock
        if type(sock) is socket.socket:
            sock.__class__ = _ClientSocket
            if sock.gettimeout() is None and sock.getblocking():
                sock.settimeout(CLIENT_TIMEOUT)
        super().enqueue_req(conn)
