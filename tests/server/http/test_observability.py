"""Request ids in answers and log lines, JSON logs, and the /metrics figures an operator graphs."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient

from server.config import DeviceConfig
from server.logs import JsonFormatter, RequestIdFilter
from tests.support import demo_bearer, make_app
from tests.support.serving import free_port

ROOT = Path(__file__).resolve().parents[3]


def test_every_answer_carries_a_request_id_and_a_sane_one_is_kept(tmp_path: Path, hall_config: Any) -> None:
    with TestClient(make_app(tmp_path, hall_config)) as client:
        made = client.get("/healthz").headers["x-request-id"]
        assert len(made) == 16 and made != client.get("/healthz").headers["x-request-id"]
        assert client.get("/healthz", headers={"X-Request-ID": "nginx-42:a"}).headers["x-request-id"] == "nginx-42:a"
        forged = client.get("/healthz", headers={"X-Request-ID": "x\" level=ERROR"}).headers["x-request-id"]
        assert forged != "x\" level=ERROR" and len(forged) == 16  # never echoed into logs


def test_a_log_line_written_while_serving_names_its_request() -> None:
    """The middleware's id reaches every record logged while the request runs, and only then."""
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from server.http.request_ids import RequestIdMiddleware

    seen: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    async def work(_request: Any) -> PlainTextResponse:
        logging.getLogger("server.test").warning("inside the request")
        return PlainTextResponse("ok")

    keep = Keep()
    keep.addFilter(RequestIdFilter())
    logger = logging.getLogger("server.test")
    logger.addHandler(keep)
    try:
        app = RequestIdMiddleware(Starlette(routes=[Route("/work", work)]))
        with TestClient(app) as client:
            assert client.get("/work", headers={"X-Request-ID": "req-777"}).headers["x-request-id"] == "req-777"
        logger.warning("outside any request")
    finally:
        logger.removeHandler(keep)
    inside = next(r for r in seen if r.getMessage() == "inside the request")
    outside = next(r for r in seen if r.getMessage() == "outside any request")
    assert inside.request_id == "req-777" and outside.request_id == "-"  # type: ignore[attr-defined]
    assert json.loads(JsonFormatter().format(inside))["request_id"] == "req-777"
    line = json.loads(JsonFormatter().format(outside))
    assert line["level"] == "WARNING" and line["logger"] == "server.test" and line["request_id"] is None


def test_hallq_serve_logs_json_with_the_request_id(tmp_path: Path) -> None:
    """The real `hallq serve --log-format json`: every stderr line is JSON; an access line names its request."""
    port = free_port()
    cmd = [sys.executable, "-m", "server.cli", "serve", "--port", str(port), "--log-format", "json",
           "--access-log", "--database-url", f"sqlite:///{tmp_path / 'hall.db'}"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HALLQ_DEMO": "1"}
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", headers={"X-Request-ID": "probe-1"},
                             timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        httpx.get(f"http://127.0.0.1:{port}/healthz", headers={"X-Request-ID": "probe-2"}, timeout=5)
    finally:
        proc.terminate()
        _out, err = proc.communicate(timeout=30)
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines, "no log output"
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all({"ts", "level", "logger", "message"} <= r.keys() for r in records)
    assert any(r["request_id"] == "probe-2" and "/healthz" in r["message"] for r in records), records[-5:]


def test_metrics_show_devices_websocket_clients_event_lag_and_store_latency(tmp_path: Path,
                                                                          hall_config: Any) -> None:
    printer = DeviceConfig(id="printer-x", kind="ticket_printer", driver="escpos", url="socket://127.0.0.1:9",
                           kiosk="k1")  # nothing listens there: the device host reports it unavailable
    config = hall_config.model_copy(update={"devices": [printer]})
    with TestClient(make_app(tmp_path, config)) as client:
        client.headers.update(demo_bearer(client, "admin"))
        client.post("/api/windows/1/open")
        client.post("/api/tickets", json={"service": "general"})
        client.post("/api/windows/1/call-next")
        with client.websocket_connect("/ws?token=hqd_demo-display-hall") as ws:
            ws.send_json({"op": "subscribe", "topics": ["hall"]})
            ws.receive_json()
            text = client.get("/metrics").text
        after = client.get("/metrics").text
    assert "hallq_ws_clients 1.0" in text and "hallq_ws_clients 0.0" in after
    assert 'hallq_device_available{device="printer-x",kind="ticket_printer"} 0.0' in text  # nobody runs it
    assert "hallq_event_lag_seconds_count" in text and 'hallq_event_lag_seconds_count 0.0' not in text
    assert 'hallq_store_seconds_count{kind="transition"}' in text and 'hallq_store_seconds_count{kind="read"}' in text


def test_the_grafana_dashboard_graphs_only_metrics_hallq_exports() -> None:
    import re

    from server.metrics import Metrics

    dashboard = json.loads((ROOT / "docs" / "grafana" / "hallq-dashboard.json").read_text())
    used = {name for panel in dashboard["panels"] for target in panel["targets"]
            for name in re.findall(r"hallq_[a-z_]+", target["expr"])}
    exported = set()
    for family in Metrics().registry.collect():
        exported |= {sample.name for sample in family.samples} | {family.name}
        if family.type == "counter":  # a labelled counter has no sample before its first label
            exported.add(f"{family.name}_total")
    exported |= {f"{name}_bucket" for name in list(exported)}
    assert used and used <= exported, used - exported
