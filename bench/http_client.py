"""The load generator's HTTP/1.1 client: whole requests prepared before the clock starts, raw sockets after.

The client shares the machine's two cores with the server, so every
microsecond it spends is one the server did not get. ``http.client`` builds
the request line and headers anew for each call and parses each response's
headers with the ``email`` package, a noticeable share of the machine at the
service's throughput. Here each request is
bytes made before the timed loop (its own token included), and a response is
read just far enough to know its status and where it ends (``Content-Length``,
which gunicorn sends for every Flask response; without one, the end of the
connection). A response this cannot delimit (chunked) is an error, never a
guess.
"""

from __future__ import annotations

import socket

_HEADER_END = b"\r\n\r\n"
_RECEIVE_BYTES = 65536


class ResponseError(RuntimeError):
    """The server's answer was not one complete HTTP/1.1 response this client can delimit."""


def prepared_request(host: str, port: int, path: str, body: bytes, token: str, *, keep_alive: bool) -> bytes:
    """A whole ``POST`` of a JSON ``body`` with a bearer ``token``, as bytes to send."""
    headers = [
        f"POST {path} HTTP/1.1",
        f"Host: {host}:{port}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        f"Authorization: Bearer {token}",
        "Connection: keep-alive" if keep_alive else "Connection: close",
    ]
    return ("\r\n".join(headers) + "\r\n\r\n").encode("ascii") + body


def exchange(connection: socket.socket, request: bytes) -> int:
    """Send one prepared request and read its whole response; returns the status code."""
    connection.sendall(request)
    buffer = b""
    while (end := buffer.find(_HEADER_END)) < 0:
        buffer += _receive(connection)
    head, body = buffer[:end], buffer[end + len(_HEADER_END) :]
    status_line, *header_lines = head.split(b"\r\n")
    length = None
    for line in header_lines:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding":
            raise ResponseError("chunked responses are not read by the load client")
    if length is None:
        while chunk := connection.recv(_RECEIVE_BYTES):
            body += chunk
    else:
        while len(body) < length:
            body += _receive(connection)
        if len(body) > length:
            raise ResponseError("more bytes than Content-Length: the next response started before this one was asked for")
    return int(status_line.split(b" ", 2)[1])


def _receive(connection: socket.socket) -> bytes:
    chunk = connection.recv(_RECEIVE_BYTES)
    if not chunk:
        raise ResponseError("the server closed the connection mid-response")
    return chunk
