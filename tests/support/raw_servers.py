"""Misbehaving servers on raw sockets, for faults an HTTP framework would not produce.

:class:`RawServer` accepts connections on 127.0.0.1 and hands each one to a
handler in its own thread: one that never answers, one that trickles its
answer, one that streams far more than any cap. :class:`TcpProxy` forwards a
local port to another address (the PostgreSQL server) and can be stopped,
restarted on the same port, or told to cut a connection just before a given
statement, so a test can take the database away and bring it back without
touching the machine's server.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable

Handler = Callable[[socket.socket, "RawServer"], None]


class RawServer:
    """A threaded TCP server on 127.0.0.1 whose connections are handled by ``handler``."""

    def __init__(self, handler: Handler):
        self._handler = handler
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.1)
        self.port = self._sock.getsockname()[1]
        self.connections = 0
        self.bytes_sent = 0
        self.stopped = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._accept, name="raw-server", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def count_sent(self, amount: int) -> None:
        with self._lock:
            self.bytes_sent += amount

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                connection, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        with connection:
            try:
                self._handler(connection, self)
            except OSError:
                pass  # the client went away: exactly what these servers provoke

    def close(self) -> None:
        self.stopped.set()
        self._thread.join()
        self._sock.close()


def read_request_head(connection: socket.socket) -> bytes:
    """Read until the end of the request headers (the tests' GET requests have no body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def never_answers(connection: socket.socket, server: RawServer) -> None:
    """Accept, read the request, and say nothing until the client gives up or the server stops."""
    read_request_head(connection)
    connection.settimeout(0.2)
    while not server.stopped.is_set():
        try:
            if not connection.recv(1):
                return
        except TimeoutError:
            continue


def trickles(connection: socket.socket, server: RawServer) -> None:
    """Answer 200 at once, then one body byte every 100 ms: each read is quick, the whole never ends."""
    read_request_head(connection)
    connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/fhir+json\r\nContent-Length: 100000\r\n\r\n")
    connection.sendall(b'{"resourceType": "Patient", "id": "')
    while not server.stopped.is_set():
        connection.sendall(b"x")
        server.count_sent(1)
        time.sleep(0.1)


def streams(total_bytes: int, *, declare_length: bool) -> Handler:
    """Answer with a JSON body of ``total_bytes``, sent as fast as the client reads it."""

    def handler(connection: socket.socket, server: RawServer) -> None:
        read_request_head(connection)
        length = f"Content-Length: {total_bytes}\r\n" if declare_length else "Connection: close\r\n"
        connection.sendall(f"HTTP/1.1 200 OK\r\nContent-Type: application/fhir+json\r\n{length}\r\n".encode())
        head = b'{"resourceType": "Patient", "text": "'
        connection.sendall(head)
        chunk = b"x" * 65536
        sent = len(head)
        while sent < total_bytes and not server.stopped.is_set():
            connection.sendall(chunk)
            sent += len(chunk)
            server.count_sent(len(chunk))

    return handler


class TcpProxy:
    """Forwards 127.0.0.1:<port> to ``target``; stop() drops every connection, start() listens again.

    ``cut_before(armed_by, statement)`` closes a connection instead of
    forwarding the first client packet containing ``statement`` that comes
    after one containing ``armed_by`` - e.g. the COMMIT after a feedback
    INSERT - so the database never sees it.
    """

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.port = 0
        self._listener: socket.socket | None = None
        self._acceptor: threading.Thread | None = None
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._cut: tuple[bytes, bytes] | None = None
        self.cuts = 0

    def start(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", self.port), reuse_port=False)
        self._listener.settimeout(0.1)
        self.port = self._listener.getsockname()[1]
        self._acceptor = threading.Thread(target=self._accept, args=(self._listener,), name="tcp-proxy", daemon=True)
        self._acceptor.start()

    def stop(self) -> None:
        listener, self._listener = self._listener, None
        if self._acceptor is not None:
            self._acceptor.join()  # until its accept() returns, the kernel keeps the port bound
        if listener is not None:
            listener.close()
        with self._lock:
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            _close(sock)

    def cut_before(self, armed_by: bytes, statement: bytes) -> None:
        self._cut = (armed_by, statement)

    def _accept(self, listener: socket.socket) -> None:
        while self._listener is listener:
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _close(client)
                continue
            upstream.settimeout(None)
            with self._lock:
                self._sockets.update((client, upstream))
            armed = threading.Event()
            threading.Thread(target=self._pump, args=(client, upstream, armed, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, armed, False), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, armed: threading.Event, from_client: bool) -> None:
        try:
            while data := source.recv(65536):
                if from_client and self._should_cut(data, armed):
                    self.cuts += 1
                    break
                sink.sendall(data)
        except OSError:
            pass
        _close(source)
        _close(sink)

    def _should_cut(self, data: bytes, armed: threading.Event) -> bool:
        if self._cut is None:
            return False
        armed_by, statement = self._cut
        if armed.is_set() and statement in data:
            self._cut = None
            return True
        if armed_by in data:
            armed.set()
        return False


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
