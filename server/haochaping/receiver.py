"""A test receiver of 好差评 uploads: checks signatures, keeps what it got, fails on purpose.

Used by the tests and by ``hallq sim haochaping-receiver`` for the demo::

    hallq sim haochaping-receiver secret=demo reject=330100-2026-999999 --listen 127.0.0.1:8470

``POST /`` takes one record (the generic adapter's request). Answers: 401 for a missing or
bad signature; 422 for a record whose ``evaluation_id`` or ``project_no`` is in ``reject``; 503 while
``fail`` is set; the connection is dropped without an answer while ``offline`` is set;
otherwise 200 (also for a repeat, which is counted in ``deliveries``). ``GET /received``
lists what it holds; ``POST /control`` with JSON ``{"offline": bool, "fail": bool,
"reject": [ids]}`` changes the failure modes at run time.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from server.haochaping.signing import KEY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, verify

MAX_BODY = 64 * 1024


@dataclass
class ReceiverState:
    """What the receiver holds and how it fails."""

    secret: bytes
    offline: bool = False
    fail: bool = False
    reject: set[str] = field(default_factory=set)
    records: dict[str, dict[str, Any]] = field(default_factory=dict)  # evaluation_id -> first record
    deliveries: Counter[str] = field(default_factory=Counter)  # evaluation_id -> accepted POSTs
    bad_signatures: int = 0
    refused: int = 0  # requests answered with an error or dropped
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests and the demo read ``/received`` instead."""

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(min(length, MAX_BODY))

    def do_GET(self) -> None:
        """``/received``: the records and counters."""
        state = self.server.state
        if self.path.rstrip("/") != "/received":
            self._answer(404, {"error": "not found"})
            return
        with state.lock:
            self._answer(200, {"records": list(state.records.values()), "deliveries": dict(state.deliveries),
                               "bad_signatures": state.bad_signatures, "refused": state.refused,
                               "offline": state.offline, "fail": state.fail, "reject": sorted(state.reject)})

    def do_POST(self) -> None:
        """One upload, or ``/control``."""
        state = self.server.state
        body = self._body()
        if self.path.rstrip("/") == "/control":
            self._control(body)
            return
        with state.lock:
            if state.offline:
                state.refused += 1
                self.close_connection = True
                self.connection.close()  # like a dead link: no answer at all
                return
        stamp = self.headers.get(TIMESTAMP_HEADER, "")
        signature = self.headers.get(SIGNATURE_HEADER, "")
        if not verify(state.secret, stamp, body, signature, now=time.time()):
            with state.lock:
                state.bad_signatures += 1
                state.refused += 1
            self._answer(401, {"error": "bad signature"})
            return
        try:
            record = json.loads(body)
            key = str(record["evaluation_id"])
        except (ValueError, KeyError, TypeError):
            self._answer(400, {"error": "not a record"})
            return
        answer: dict[str, Any]
        with state.lock:
            if state.fail:
                state.refused += 1
                status, answer = 503, {"error": "receiver failing on purpose"}
            elif key in state.reject or record.get("project_no") in state.reject:
                state.refused += 1  # like a province that does not know this 办件编号
                status, answer = 422, {"error": f"record {key} rejected on purpose"}
            elif self.headers.get(KEY_HEADER) != key:
                state.refused += 1
                status, answer = 400, {"error": "Idempotency-Key does not match evaluation_id"}
            else:
                state.records.setdefault(key, record)
                state.deliveries[key] += 1
                status, answer = 200, {"ok": True, "evaluation_id": key}
        self._answer(status, answer)

    def _control(self, body: bytes) -> None:
        state = self.server.state
        try:
            change = json.loads(body or b"{}")
        except ValueError:
            self._answer(400, {"error": "not JSON"})
            return
        with state.lock:
            if "offline" in change:
                state.offline = bool(change["offline"])
            if "fail" in change:
                state.fail = bool(change["fail"])
            if "reject" in change:
                state.reject = {str(k) for k in change["reject"] or ()}
        self._answer(200, {"ok": True})


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], state: ReceiverState) -> None:
        super().__init__(address, _Handler)
        self.state = state


class Receiver:
    """The test receiver on a thread: ``with Receiver(b"secret") as r: … r.url …``."""

    def __init__(self, secret: bytes, host: str = "127.0.0.1", port: int = 0) -> None:
        self.state = ReceiverState(secret=secret)
        self.host = host
        self.server = _Server((host, port), self.state)
        self.thread = threading.Thread(target=self.server.serve_forever, name="haochaping-receiver", daemon=True)

    @property
    def url(self) -> str:
        """The upload URL."""
        return f"http://{self.host}:{self.server.server_port}/"

    def start(self) -> Receiver:
        """Serve on a background thread."""
        self.thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve(listen: tuple[str, int], options: dict[str, object]) -> int:
    """``hallq sim haochaping-receiver``: serve in the foreground until Ctrl-C."""
    secret = str(options.get("secret") or "demo-haochaping-secret").encode()
    receiver = Receiver(secret, *listen)
    reject = options.get("reject")
    if reject:
        receiver.state.reject = {s for s in str(reject).split(",") if s}
    receiver.state.fail = str(options.get("fail", "")).lower() in ("1", "true", "yes")
    receiver.state.offline = str(options.get("offline", "")).lower() in ("1", "true", "yes")
    print(json.dumps({"url": receiver.url, "received": receiver.url + "received", "control": receiver.url + "control"}),
          flush=True)
    try:
        receiver.server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        receiver.server.server_close()
    return 0
