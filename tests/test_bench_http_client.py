"""The load generator's raw HTTP client must read each response exactly, or the throughput it reports is wrong.

Each test serves canned bytes from a real socket on 127.0.0.1, so the
client's reading of status, ``Content-Length`` and the connection's end is
checked against answers whose every byte is known.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from bench import http_client

pytestmark = pytest.mark.bench

BODY = json.dumps({"cards": []}).encode()


@contextmanager
def canned_server(*answers: bytes) -> Iterator[tuple[tuple[str, int], list[bytes]]]:
    """Accept one connection; for each answer, read one request and send the answer's bytes; then close."""
    listener = socket.create_server(("127.0.0.1", 0))
    received: list[bytes] = []

    def serve() -> None:
        connection, _ = listener.accept()
        with connection:
            for answer in answers:
                request = b""
                while b"\r\n\r\n" not in request:
                    request += connection.recv(65536)
                head, _, body = request.partition(b"\r\n\r\n")
                length = int(next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")))
                while len(body) < length:
                    body += connection.recv(65536)
                received.append(request if len(body) == length else b"")
                connection.sendall(answer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname(), received
    finally:
        thread.join(timeout=10)
        listener.close()


def response(status: str, body: bytes, *headers: str) -> bytes:
    return (f"HTTP/1.1 {status}\r\n" + "".join(f"{h}\r\n" for h in headers) + "\r\n").encode() + body


def request_for(address: tuple[str, int], *, keep_alive: bool) -> bytes:
    return http_client.prepared_request(address[0], address[1], "/cds-services/x", BODY, "tok.en.sig", keep_alive=keep_alive)


def test_a_prepared_request_is_a_complete_http_post_with_its_own_token():
    request = http_client.prepared_request("127.0.0.1", 8080, "/cds-services/bme-patient-view", BODY, "a.b.c", keep_alive=False)
    head, _, body = request.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == "POST /cds-services/bme-patient-view HTTP/1.1"
    assert {"Host: 127.0.0.1:8080", "Content-Type: application/json", f"Content-Length: {len(BODY)}",
            "Authorization: Bearer a.b.c", "Connection: close"} <= set(lines[1:])  # fmt: skip
    assert body == BODY


def test_responses_on_one_kept_connection_are_each_read_to_their_content_length():
    big = b"x" * 300_000  # several receives
    answers = (
        response("200 OK", big, f"Content-Length: {len(big)}"),
        response("401 UNAUTHORIZED", b"{}", "content-length: 2"),
    )
    with canned_server(*answers) as (address, received):
        with socket.create_connection(address, timeout=10) as connection:
            assert http_client.exchange(connection, request_for(address, keep_alive=True)) == 200
            assert http_client.exchange(connection, request_for(address, keep_alive=True)) == 401
    assert len(received) == 2 and all(received)


def test_a_response_without_content_length_is_read_to_the_end_of_the_connection():
    with canned_server(response("200 OK", BODY, "Connection: close")) as (address, _):
        with socket.create_connection(address, timeout=10) as connection:
            assert http_client.exchange(connection, request_for(address, keep_alive=False)) == 200


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (response("200 OK", b"5\r\nhello\r\n0\r\n\r\n", "Transfer-Encoding: chunked"), "chunked"),
        (response("200 OK", b"{}", "Content-Length: 10"), "closed the connection mid-response"),
        (response("200 OK", b"{}extra", "Content-Length: 2"), "more bytes than Content-Length"),
        (b"HTTP/1.1 200 OK\r\nContent-Len", "closed the connection mid-response"),
    ],
)
def test_an_answer_that_cannot_be_delimited_is_an_error_not_a_count(answer, reason):
    with canned_server(answer) as (address, _):
        with socket.create_connection(address, timeout=10) as connection:
            with pytest.raises(http_client.ResponseError, match=reason):
                http_client.exchange(connection, request_for(address, keep_alive=False))
