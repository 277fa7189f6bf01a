"""A small threaded HTTP server that fake providers build on.

Each fake listens on ``127.0.0.1`` on a free port, records every request it sees (thread-safely,
so worker processes and test threads may hit it at once) and answers through :meth:`handle`.
Tests can script failures ahead of time: a fixed status and body for the next N requests, a
delay, a hang long enough to trip a read timeout, or a connection closed without an answer.

    with FakeWaha() as waha:
        waha.fail_next(2, status=500, body={"message": "boom"})
        ...  # point the adapter at waha.url
        assert len(waha.requests) == 3
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import email.parser
import email.policy
import http.server
import itertools
import json
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any

from requests.structures import CaseInsensitiveDict

#: How long a hanging request waits at most (it ends sooner when the server stops).
DEFAULT_HANG_SECONDS = 60.0


@dataclasses.dataclass(frozen=True)
class Request:
    """One request as the fake received it."""

    method: str
    path: str
    query: Mapping[str, list[str]]
    headers: CaseInsensitiveDict
    body: bytes
    #: ``time.monotonic()`` when the request was fully read.
    at: float
    #: What the fake did with it: the status code sent, or "closed" / "hung".
    outcome: int | str | None = None

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    @property
    def json(self) -> Any:
        """The body parsed as JSON, or None when it is not JSON."""
        if self.content_type != "application/json":
            return None
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    @property
    def multipart(self) -> dict[str, Part] | None:
        """The body parsed as ``multipart/form-data`` (RFC 7578), by field name, or None when
        it is not one."""
        if self.content_type != "multipart/form-data":
            return None
        header = f"Content-Type: {self.headers.get('content-type')}\r\n\r\n".encode()
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(header + self.body)
        if not message.is_multipart():
            return None
        parts = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if name is None:
                continue
            parts[str(name)] = Part(
                name=str(name),
                filename=part.get_filename(),
                content_type=part.get_content_type() if part.get("content-type") else None,
                data=part.get_payload(decode=True) or b"",
            )
        return parts

    @property
    def form(self) -> dict[str, str] | None:
        """The body parsed as a URL-encoded form (last value wins), or None when it is not one."""
        if self.content_type != "application/x-www-form-urlencoded":
            return None
        pairs = urllib.parse.parse_qsl(self.text, keep_blank_values=True)
        return dict(pairs)


@dataclasses.dataclass(frozen=True)
class Part:
    """One field of a ``multipart/form-data`` body: a file when it has a ``filename``."""

    name: str
    filename: str | None
    content_type: str | None
    data: bytes

    @property
    def text(self) -> str:
        return self.data.decode("utf-8", errors="replace")


@dataclasses.dataclass(frozen=True)
class Response:
    """What :meth:`FakeServer.handle` answers: a body given as dict/list (JSON), str or bytes."""

    status: int = 200
    body: Any = None
    headers: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def encode(self) -> tuple[bytes, dict[str, str]]:
        headers = dict(self.headers)
        if self.body is None:
            data = b""
        elif isinstance(self.body, bytes):
            data = self.body
        elif isinstance(self.body, str):
            data = self.body.encode("utf-8")
            headers.setdefault("Content-Type", "text/plain; charset=utf-8")
        else:
            data = json.dumps(self.body).encode("utf-8")
            headers.setdefault("Content-Type", "application/json; charset=utf-8")
        return data, headers


# Scripted behaviours, consumed one per request in arrival order.


@dataclasses.dataclass(frozen=True)
class Reply:
    """Answer with this response instead of the fake's normal handling."""

    response: Response


@dataclasses.dataclass(frozen=True)
class Delay:
    """Wait, then handle normally (or answer ``response`` when given)."""

    seconds: float
    response: Response | None = None


@dataclasses.dataclass(frozen=True)
class Hang:
    """Read the request, then answer nothing until the client gives up or the server stops."""

    seconds: float = DEFAULT_HANG_SECONDS


@dataclasses.dataclass(frozen=True)
class Close:
    """Read the request, then drop the connection without a status line."""


Action = Reply | Delay | Hang | Close


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle's algorithm on, the body then waits
    # for the client's delayed ACK (40 ms on Linux). Real providers answer without that.
    disable_nagle_algorithm = True
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        # Quiet: pytest output stays readable; the fake's own record is the log.
        pass

    def _serve(self) -> None:
        self.server.fake._dispatch(self)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve

    def read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    # Trailer section ends with an empty line.
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""


class _HTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default backlog of 5 resets connections when many workers send at once.
    request_queue_size = 128
    fake: FakeServer

    def handle_error(self, request, client_address) -> None:
        # A client that timed out or closed first is normal in fault tests: stay quiet.
        pass


class FakeServer:
    """Base of every fake provider: start/stop, request log, failure script.

    Subclasses implement :meth:`handle`. Use as a context manager or call :meth:`start` and
    :meth:`stop`. All public helpers are safe to call from any thread.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._arrived = threading.Condition(self._lock)
        self._requests: list[Request] = []
        self._script: collections.deque[Action] = collections.deque()
        self._stopping = threading.Event()
        self._server: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        #: Seconds every answer takes (a provider that is not instant; benchmarks set it).
        self.latency = 0.0

    # Lifecycle

    def start(self, port: int = 0) -> FakeServer:
        """Listen on ``port`` (0: a free one); a stopped fake can come back on its old port."""
        if self._server is not None:
            return self
        self._stopping.clear()
        server = _HTTPServer(("127.0.0.1", port), _Handler)
        server.fake = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{type(self).__name__}-server",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()  # wakes hanging and delayed handlers
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not running")
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:41234`` (no trailing slash)."""
        return f"http://127.0.0.1:{self.port}"

    # Request log

    @property
    def requests(self) -> list[Request]:
        """Every request received so far, in arrival order (a copy)."""
        with self._lock:
            return list(self._requests)

    @property
    def last(self) -> Request:
        with self._lock:
            if not self._requests:
                raise AssertionError(f"{type(self).__name__} received no request")
            return self._requests[-1]

    def requests_to(self, path: str, method: str = "POST") -> list[Request]:
        return [r for r in self.requests if r.path == path and r.method == method]

    def wait_for_requests(self, count: int, timeout: float = 10.0) -> list[Request]:
        """Block until at least ``count`` requests arrived; raise AssertionError on timeout."""
        return self.wait_until(lambda: len(self._requests) >= count, timeout, f"{count} requests")

    def wait_until(self, predicate: Callable[[], bool], timeout: float = 10.0, what: str = "it"):
        """Block until ``predicate()`` (called under the fake's lock) is true; return requests."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while not predicate():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"{type(self).__name__}: waited {timeout:g}s for {what}, "
                        f"got {len(self._requests)} requests"
                    )
                self._arrived.wait(remaining)
            return list(self._requests)

    def reset(self) -> None:
        """Forget recorded requests and pending script steps (state of subclasses stays)."""
        with self._lock:
            self._requests.clear()
            self._script.clear()

    # Failure script

    def script(self, *actions: Action) -> None:
        """Queue behaviours for the next requests, one action per request."""
        with self._lock:
            self._script.extend(actions)

    def fail_next(
        self,
        times: int = 1,
        *,
        status: int = 500,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Answer the next ``times`` requests with this status and body."""
        self.script(*[Reply(Response(status, body, dict(headers or {})))] * times)

    def delay_next(self, seconds: float, times: int = 1) -> None:
        """Hold the next ``times`` requests for ``seconds``, then handle them normally."""
        self.script(*[Delay(seconds)] * times)

    def hang_next(self, times: int = 1, seconds: float = DEFAULT_HANG_SECONDS) -> None:
        """Never answer the next ``times`` requests (until ``seconds`` pass or the fake stops)."""
        self.script(*[Hang(seconds)] * times)

    def close_next(self, times: int = 1) -> None:
        """Drop the connection of the next ``times`` requests after reading them."""
        self.script(*[Close()] * times)

    @property
    def pending_script(self) -> int:
        with self._lock:
            return len(self._script)

    # Handling

    def handle(self, request: Request) -> Response:
        """Answer one request the way the real API would. Subclasses override."""
        return Response(404, {"error": "not found"})

    def _dispatch(self, handler: _Handler) -> None:
        split = urllib.parse.urlsplit(handler.path)
        headers = CaseInsensitiveDict(handler.headers.items())
        body = handler.read_body()
        request = Request(
            method=handler.command,
            path=split.path,
            query=urllib.parse.parse_qs(split.query, keep_blank_values=True),
            headers=headers,
            body=body,
            at=time.monotonic(),
        )
        with self._lock:
            action = self._script.popleft() if self._script else None
            index = len(self._requests)
            self._requests.append(request)
            self._arrived.notify_all()

        response: Response | None = None
        if isinstance(action, Close):
            self._set_outcome(index, "closed")
            handler.close_connection = True
            _abort(handler.connection)
            return
        if isinstance(action, Hang):
            self._set_outcome(index, "hung")
            self._stopping.wait(action.seconds)
            handler.close_connection = True
            _abort(handler.connection)
            return
        if isinstance(action, Delay):
            if self._stopping.wait(action.seconds):
                return
            response = action.response
        elif isinstance(action, Reply):
            response = action.response
        if response is None:
            if self.latency and self._stopping.wait(self.latency):
                return
            try:
                response = self.handle(request)
            except Exception as exc:  # a bug in a fake must show up as a 500, not a hang
                response = Response(500, {"fake_error": repr(exc)})
        self._set_outcome(index, response.status)
        self._write(handler, response)
        with self._arrived:
            # State that ``handle`` changed (accepted messages) is visible to waiters now.
            self._arrived.notify_all()

    def _set_outcome(self, index: int, outcome: int | str) -> None:
        with self._lock:
            self._requests[index] = dataclasses.replace(self._requests[index], outcome=outcome)

    @staticmethod
    def _write(handler: _Handler, response: Response) -> None:
        data, headers = response.encode()
        try:
            handler.send_response(response.status)
            for name, value in headers.items():
                handler.send_header(name, value)
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            if handler.command != "HEAD":
                handler.wfile.write(data)
            handler.wfile.flush()
        except OSError:
            handler.close_connection = True


class MessageLog(FakeServer):
    """A fake that keeps the messages it accepted, with the helpers tests read them by.

    Subclasses append to ``self._messages`` under ``self._state_lock`` when they accept one,
    and name the message fields that hold its destination and its text.
    """

    target_field = "target"
    text_field = "text"

    def __init__(self) -> None:
        super().__init__()
        self._messages: list[Any] = []
        self._state_lock = threading.Lock()

    @property
    def messages(self) -> list[Any]:
        """Every accepted message, in arrival order."""
        with self._state_lock:
            return list(self._messages)

    def received(self, target: str | int) -> list[Any]:
        """Accepted messages for one destination, in arrival order."""
        return [m for m in self.messages if str(getattr(m, self.target_field)) == str(target)]

    def texts(self, target: str | int) -> list[str]:
        return [getattr(m, self.text_field) for m in self.received(target)]

    def gaps(self, target: str | int) -> list[float]:
        """Seconds between consecutive accepted messages to one destination."""
        times = [m.at for m in self.received(target)]
        return [later - earlier for earlier, later in itertools.pairwise(times)]

    def wait_for_messages(self, count: int, timeout: float = 10.0) -> list[Any]:
        self.wait_until(lambda: len(self._messages) >= count, timeout, f"{count} messages")
        return self.messages

    def reset(self) -> None:
        """Forget requests, script steps and accepted messages."""
        super().reset()
        with self._state_lock:
            self._messages.clear()


def _abort(connection: socket.socket) -> None:
    """Close a client connection at once, without a status line."""
    with contextlib.suppress(OSError):
        connection.shutdown(socket.SHUT_RDWR)


def free_port() -> int:
    """A local port with nothing listening on it (connecting there is refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
