"""The ``hallq`` command: serve, demo, devices, check-config, sim."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from server.settings import DEMO_CONFIG

# haochaping-receiver: server/haochaping/; gsm and scanner: drivers/gsm, drivers/scanner (SMS notices, check-in)
SIM_KINDS = ("printer", "idcard", "led", "keypads", "camera", "haochaping-receiver", "gsm", "scanner")

# kiosk and screens sign in once with their demo device tokens; staff pages ask for an account
# (demo accounts: admin/admin-demo, supervisor/supervisor-demo, clerk1/clerk1-demo … see README)
DEMO_PAGES = ("/kiosk/k1?token=hqd_demo-kiosk-k1", "/clerk", "/display/hall?token=hqd_demo-display-hall",
              "/display/window/1?token=hqd_demo-display-w1", "/supervisor", "/supervisor/video", "/docs")


def _device(value: str) -> tuple[str, str]:
    device_id, sep, url = value.partition("=")
    if not sep or not device_id or not url:
        raise argparse.ArgumentTypeError(f"expected ID=URL, got {value!r}")
    return device_id, url


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``hallq``."""
    parser = argparse.ArgumentParser(prog="hallq", description="hallq 政务服务中心排队叫号 queue server")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the queue server")
    serve.add_argument("--config", type=Path, default=None, help="hall YAML (default: $HALLQ_CONFIG or demo)")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    serve.add_argument("--database-url", default=None, help="sqlite:///var/hallq.db or postgresql+psycopg://…")
    serve.add_argument("--workers", type=int, default=None, help="server processes sharing the database")
    serve.add_argument("--device", type=_device, action="append", default=[], metavar="ID=URL",
                       help="override a device URL (repeatable), e.g. printer-k1=/dev/usb/lp0")
    serve.add_argument("--demo", action="store_true", help="start device simulators (demo mode)")
    serve.add_argument("--no-devices", action="store_true",
                       help="open no devices here: a `hallq devices` process runs them elsewhere")
    serve.add_argument("--log-level", default=None)
    serve.add_argument("--log-format", choices=["text", "json"], default=None,
                       help="json: one JSON object per log line, with the request id")
    serve.add_argument("--access-log", action="store_true", help="log every request")

    dev = sub.add_parser("devices", help="run the device host: this machine's devices, through a hallq server's API",
                         epilog="hallq devices commission DEVICE [--config FILE] [--url URL]: press every keypad "
                                "key, confirm its meaning, write the map into the hall YAML")  # fmt: skip
    dev.add_argument("--server", required=True, help="the hallq server, e.g. http://10.0.0.5:8000")
    dev.add_argument("--token", default=None, help="device token (default: $HALLQ_DEVICE_TOKEN)")
    dev.add_argument("--config", type=Path, default=None, help="hall YAML (default: $HALLQ_CONFIG or demo)")
    dev.add_argument("--device", type=_device, action="append", default=[], metavar="ID=URL",
                     help="override a device URL (repeatable), e.g. printer-k1=/dev/usb/lp0")
    dev.add_argument("--only", action="append", default=[], metavar="ID",
                     help="run only these devices of the config (repeatable; default: all)")
    dev.add_argument("--name", default=None, help="this host's name in claims (default: hostname-pid)")
    dev.add_argument("--demo", action="store_true", help="start simulators for devices with url: sim (demo mode)")

    demo = sub.add_parser("demo", help="run the demo hall (config/demo.yaml, fresh var/demo.db) on 127.0.0.1:8000")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument("--keep", action="store_true", help="keep var/demo.db from the last run")

    check = sub.add_parser("check-config", help="validate a hall YAML file")
    check.add_argument("file", type=Path)

    sim = sub.add_parser("sim", help="run one device simulator (printer, idcard, led, keypads, camera, gsm, scanner)")
    sim.add_argument("device", choices=sorted(SIM_KINDS), help="which simulator")
    sim.add_argument("--listen", default="127.0.0.1:0", help="HOST:PORT, or 'pty' for a pseudo-terminal")
    sim.add_argument("options", nargs="*", metavar="KEY=VALUE", help="simulator options, e.g. encoding=gbk")

    from server.reports import cli as report_cli  # H7: `hallq report` (statistics, assessment, staffing)

    report_cli.add_parser(sub)
    from server.config_live import cli as config_cli  # `hallq config export|import` (live configuration)

    config_cli.add_parser(sub)
    from server import backups  # `hallq backup` / `hallq restore`

    backups.add_parsers(sub)
    return parser


def _sim_options(pairs: Sequence[str]) -> dict[str, object]:
    options: dict[str, object] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"hallq sim: expected KEY=VALUE, got {pair!r}")
        try:
            options[key] = json.loads(value)
        except ValueError:
            options[key] = value
    return options


def _export(env: dict[str, str | None]) -> None:
    # Settings travel by environment so that every uvicorn worker process sees them.
    for key, value in env.items():
        if value is not None:
            os.environ[key] = value


def _run(host: str, port: int, workers: int, log_level: str, access_log: bool) -> None:
    import uvicorn

    from server.auth.serving import restrict_files, uvicorn_options

    restrict_files()  # database, WAL and snapshots: 0600/0700
    uvicorn.run(
        "server.app:create_app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers if workers > 1 else None,
        loop="uvloop",
        log_level=log_level,
        access_log=access_log,
        log_config=None,  # server/logs.py configured logging; uvicorn's loggers go through it
        timeout_graceful_shutdown=5,
        # uvicorn kills a worker that does not answer its supervisor's ping within this; the
        # default 5 s killed workers still importing the app on a loaded box, over and over
        timeout_worker_healthcheck=30,
        **uvicorn_options(),  # header/idle timeouts, connection caps, ws frame size, trusted proxies (issue 12)
    )


def serve(args: argparse.Namespace) -> int:
    """``hallq serve``."""
    from server.malloc import tune_malloc
    from server.settings import Settings

    tune_malloc()  # this process, its workers and its device-host child (server/malloc.py)
    devices = dict(args.device)
    _export({
        "HALLQ_CONFIG": str(args.config) if args.config else None,
        "HALLQ_DATABASE_URL": args.database_url,
        "HALLQ_DEVICES": json.dumps(devices) if devices else None,
        "HALLQ_DEMO": "1" if args.demo else None,
        "HALLQ_HOST": args.host,
        "HALLQ_PORT": str(args.port) if args.port is not None else None,
        "HALLQ_WORKERS": str(args.workers) if args.workers is not None else None,
        "HALLQ_LOG_LEVEL": args.log_level,
        "HALLQ_LOG_FORMAT": args.log_format,
        "HALLQ_ACCESS_LOG": "1" if args.access_log else None,
    })
    settings = Settings()
    if args.no_devices or settings.workers > 1:
        os.environ["HALLQ_DEVICE_HOST"] = "external"  # workers never open a device
    if check_config(settings.config) != 0:
        return 2
    if args.no_devices or settings.workers <= 1:
        _run(settings.host, settings.port, settings.workers, settings.log_level, settings.access_log)
        return 0
    return _serve_with_host(settings, devices)


def _serve_with_host(settings: Any, devices: dict[str, str]) -> int:
    """Workers plus exactly one device-host child process, with a token minted for it."""
    from server.app import database_url
    from server.config import load_config
    from server.hosting.process import HostChild, mint_host_token, revoke_host_token

    config = load_config(settings.config)
    url = database_url(settings, config)
    token_id, token = mint_host_token(url, config)
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
    child = HostChild(f"http://{host}:{settings.port}", token, settings.config, devices)
    try:
        _run(settings.host, settings.port, settings.workers, settings.log_level, settings.access_log)
    finally:
        child.stop()
        revoke_host_token(url, config, token_id)
    return 0


def devices_command(args: argparse.Namespace) -> int:
    """``hallq devices``: a DeviceHost with a RemoteQueue (public API + /ws, device token)."""
    import asyncio

    from server.config import load_config
    from server.hosting.process import TOKEN_ENV, run_devices
    from server.malloc import tune_malloc
    from server.settings import Settings

    tune_malloc()  # server/malloc.py
    token = args.token or os.environ.get(TOKEN_ENV)
    if not token:
        print(f"hallq devices: a device token is needed (--token or ${TOKEN_ENV})", file=sys.stderr)
        return 2
    settings = Settings(**({"config": args.config} if args.config else {}))
    config = load_config(settings.config)
    if args.only:
        config = config.model_copy(update={"devices": [d for d in config.devices if d.id in set(args.only)]})
    return asyncio.run(run_devices(config, args.server, token, name=args.name, overrides=dict(args.device),
                                   heartbeat_seconds=settings.device_heartbeat_seconds,
                                   demo=args.demo or settings.demo))


def demo(args: argparse.Namespace) -> int:
    """``hallq demo``: the demo hall on simulated devices, with a fresh database."""
    var = Path("var")
    var.mkdir(exist_ok=True)
    db = var / "demo.db"
    if not args.keep:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
    _export({
        "HALLQ_CONFIG": str(DEMO_CONFIG),
        "HALLQ_DATABASE_URL": f"sqlite:///{db.resolve()}",
        "HALLQ_DEMO": "1",
        "HALLQ_HOST": args.host,
        "HALLQ_PORT": str(args.port),
        "HALLQ_WORKERS": "1",
    })
    base = f"http://{args.host}:{args.port}"
    print("hallq 演示大厅 demo hall —", DEMO_CONFIG)
    for page in DEMO_PAGES:
        print(f"  {base}{page}")
    print("演示账号 demo accounts: supervisor / supervisor-demo, clerk1…clerk16 / clerk1-demo…, admin / admin-demo")
    print("Ctrl+C 停止 / to stop", flush=True)
    _run(args.host, args.port, 1, "info", False)
    return 0


def check_config(path: Path) -> int:
    """``hallq check-config FILE``: 0 when valid, 1 with every problem listed otherwise."""
    from drivers.errors import DeviceConfigError
    from server.config import HallConfigError, load_config
    from server.devices.validation import validate_devices

    try:
        cfg = load_config(path)
        validate_devices(cfg, allow_sim=True)
    except (HallConfigError, DeviceConfigError) as exc:
        print(exc, file=sys.stderr)
        return 1
    from server.ratings.compliance import evaluator_warnings

    for warning in evaluator_warnings(cfg):  # 好差评 is five-level; a warning, not an error
        print(warning, file=sys.stderr)
    from server.config_checks import config_warnings

    for warning in config_warnings(cfg):  # service hours outside the hall's, elderly_age above the law's 60
        print(warning, file=sys.stderr)
    print(f"{path}: OK — {cfg.hall.name}: {len(cfg.services)} services, {len(cfg.windows)} windows, "
          f"{len(cfg.kiosks)} kiosks, {len(cfg.devices)} devices")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``hallq`` console script."""
    words = list(sys.argv[1:] if argv is None else argv)
    if words[:2] == ["devices", "commission"]:  # keypad commissioning: drivers/keypad/commission.py
        from drivers.keypad.commission import main as commission

        return commission(words[2:])
    args = build_parser().parse_args(argv)
    from server import logs

    logs.configure("info", getattr(args, "log_format", None))
    if args.command == "serve":
        return serve(args)
    if args.command == "demo":
        return demo(args)
    if args.command == "devices":
        return devices_command(args)
    if args.command in ("backup", "restore"):
        from server import backups

        return backups.run(args)
    if args.command == "config":
        from server.config_live import cli as config_cli

        return config_cli.run(args)
    if args.command == "report":
        from server.reports import cli as report_cli

        return report_cli.run(args)
    if args.command == "sim":
        from drivers.simcli import run_sim

        if args.device == "haochaping-receiver":  # the test receiver of 好差评 uploads, not a device
            from drivers.simcli import parse_listen
            from server.haochaping.receiver import serve as serve_receiver

            listen = parse_listen(args.listen)
            if listen is None:
                raise SystemExit("hallq sim haochaping-receiver: --listen HOST:PORT (no pty)")
            return serve_receiver(listen, _sim_options(args.options))
        return run_sim(args.device, args.listen, _sim_options(args.options))
    return check_config(args.file)


if __name__ == "__main__":
    sys.exit(main())
