"""Printing through a real cupsd: a raw queue whose device is the ESC/POS simulator."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from drivers.contract import TicketContent
from drivers.errors import ConfigurationError
from drivers.health import DeviceState
from drivers.printer.escpos import ticket_bytes
from drivers.printer.simulator import EscposSimulator
from drivers.registry import build
from tests.support.serving import free_port as _free_port  # below the ephemeral range

pytestmark = pytest.mark.timeout(90)

CUPSD = shutil.which("cupsd") or ("/usr/sbin/cupsd" if os.path.exists("/usr/sbin/cupsd") else None)
LPADMIN = shutil.which("lpadmin") or ("/usr/sbin/lpadmin" if os.path.exists("/usr/sbin/lpadmin") else None)
TICKET = TicketContent("示范区政务服务中心", "住房公积金", "D031", 4, 60, dt.datetime(2026, 11, 27, 14, 0),
                       "http://127.0.0.1:8000/t/cupstok", notice="公积金提取：身份证、本人银行卡。")


def _wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"cupsd exited with {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError("cupsd did not start listening")


@pytest.fixture(scope="session")
def cupsd() -> Iterator[str]:
    """A private cupsd (all state in a temp dir) on 127.0.0.1:<free port>; yields "127.0.0.1:port"."""
    try:
        import cups  # noqa: F401
    except ImportError:
        pytest.skip("pycups is not installed (pip install pycups; needs libcups2-dev)")
    if CUPSD is None or LPADMIN is None:
        pytest.skip("no cupsd/lpadmin binary (Debian package cups)")
    root = Path(tempfile.mkdtemp(prefix="hallq-cups-"))
    for sub in ("spool/tmp", "cache", "state/certs", "log", "ppd"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    port = _free_port()
    (root / "cupsd.conf").write_text(
        f"Listen 127.0.0.1:{port}\nLogLevel warn\nWebInterface No\nBrowsing No\nDefaultAuthType None\n"
        "<Location />\n  Order allow,deny\n  Allow all\n</Location>\n"
        "<Location /admin>\n  Order allow,deny\n  Allow all\n</Location>\n"
        "<Policy default>\n  <Limit All>\n    Order deny,allow\n  </Limit>\n</Policy>\n"
    )
    (root / "cups-files.conf").write_text(
        f"ServerRoot {root}\nStateDir {root}/state\nCacheDir {root}/cache\nRequestRoot {root}/spool\n"
        f"TempDir {root}/spool/tmp\nServerBin /usr/lib/cups\nDataDir /usr/share/cups\n"
        f"AccessLog {root}/log/access_log\nErrorLog {root}/log/error_log\nPageLog {root}/log/page_log\n"
        "FileDevice Yes\nSandboxing Relaxed\n"
    )
    proc = subprocess.Popen([CUPSD, "-f", "-c", str(root / "cupsd.conf"), "-s", str(root / "cups-files.conf")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_port(port, proc)
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        shutil.rmtree(root, ignore_errors=True)


def _add_raw_queue(server: str, name: str, device_uri: str) -> None:
    """A raw queue; CUPS 2.4 warns that raw queues are deprecated, and a model-less queue is the fallback."""
    base = [LPADMIN or "lpadmin", "-h", server, "-p", name, "-E", "-v", device_uri]
    done = subprocess.run([*base, "-m", "raw"], capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        done = subprocess.run(base, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr


async def test_ticket_through_a_real_cupsd_raw_queue(cupsd: str, tmp_path: Path) -> None:
    sim = EscposSimulator("printer-cups", {"png_dir": str(tmp_path)})
    url = await sim.start()
    _add_raw_queue(cupsd, "Ticket", url)
    printer = build("printer-cups", "ticket_printer", "cups_raw", "cups://Ticket",
                    {"server": cupsd, "job_timeout": 30})
    await printer.open()
    try:
        assert printer.health.state == DeviceState.READY
        result = await printer.print_ticket(TICKET)
        assert result.printed, result
        assert result.job_id is not None
        ticket = await sim.wait_ticket(1, 20.0)
        assert "D031" in ticket["text"] and "住房公积金" in ticket["text"] and "一次告知" in ticket["text"]
        assert ticket["bytes"] == len(ticket_bytes(TICKET))  # a raw queue passes the bytes unchanged
    finally:
        await printer.close()
        await sim.stop()


async def test_missing_queue_is_a_fault_and_nothing_prints(cupsd: str) -> None:
    printer = build("printer-cups", "ticket_printer", "cups_raw", "cups://NoSuchQueue", {"server": cupsd})
    await printer.open()
    try:
        assert printer.health.state == DeviceState.FAULT and printer.health.faults == ("queue_missing",)
        result = await printer.print_ticket(TICKET)
        assert not result.printed and result.fault == "queue_missing"
    finally:
        await printer.close()


def test_bad_cups_url_and_missing_pycups_are_configuration_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigurationError, match="cups://QueueName"):
        build("doc-1", "document_printer", "cups", "socket://127.0.0.1:631", {})
    monkeypatch.setitem(sys.modules, "cups", None)  # import cups -> ImportError
    with pytest.raises(ConfigurationError, match=r"'printer-cups'.*pycups"):
        build("printer-cups", "ticket_printer", "cups_raw", "cups://Ticket", {})


async def test_document_job_is_tracked_to_completion(cupsd: str) -> None:
    """A PDF job on a queue (here a raw one: no filters needed) completes and its bytes arrive."""
    sim = EscposSimulator("doc-sink", {"render_png": False})
    url = await sim.start()
    _add_raw_queue(cupsd, "Documents", url)
    printer = build("doc-1", "document_printer", "cups", "cups://Documents", {"server": cupsd})
    await printer.open()
    try:
        pdf = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
        result = await printer.print_document(pdf, "一次告知 社会保障")
        assert result.printed and result.job_id is not None, result
        assert sim.bytes_received == len(pdf)
    finally:
        await printer.close()
        await sim.stop()
