"""``hallq config export|import``: the stored hall configuration as YAML, and a YAML loaded as its next version.

``import`` validates the file exactly as ``hallq check-config`` does and stores it like the
admin API would (a new version, an audit record with the diff, ``config.changed`` in the
outbox): running servers apply it without a restart.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import insert


def add_parser(sub: Any) -> None:
    """Add ``hallq config export|import`` to ``hallq``'s subparsers."""
    p = sub.add_parser("config", help="export or import the stored hall configuration (YAML)")
    p.add_argument("action", choices=("export", "import"))
    p.add_argument("file", nargs="?", type=Path, default=None, help="export: file to write (default stdout); "
                   "import: the YAML to load")
    p.add_argument("--expected-version", type=int, default=None,
                   help="import: refuse unless this is the newest stored version (default: the newest)")
    p.add_argument("--config", type=Path, default=None, help="hall YAML that bootstraps a new database "
                   "(default: $HALLQ_CONFIG or demo)")
    p.add_argument("--database-url", default=None)


def run(args: argparse.Namespace) -> int:
    """0 on success; 1 with every problem listed (invalid YAML); 2 when the version is stale."""
    from server.app import database_url, open_store
    from server.config import HallConfigError, load_config
    from server.config_live import versions
    from server.config_live.changes import diff
    from server.config_live.yamlio import from_yaml, to_yaml
    from server.errors import Conflict
    from server.settings import Settings

    overrides = {k: v for k, v in {"config": args.config, "database_url": args.database_url}.items() if v}
    settings = Settings(**overrides)
    boot = load_config(settings.config)
    store = open_store(database_url(settings, boot), boot)
    try:
        current = versions.bootstrap(store, boot, follow_yaml=False)  # the YAML here only bootstraps
        if args.action == "export":
            text = to_yaml(current.config(), current.version)
            if args.file is None:
                sys.stdout.write(text)
            else:
                args.file.write_text(text, encoding="utf-8")
            return 0
        if args.file is None:
            print("hallq config import: name the YAML file to load", file=sys.stderr)
            return 1
        try:
            new = from_yaml(args.file.read_text(encoding="utf-8"), str(args.file))
        except (HallConfigError, OSError) as exc:
            print(exc, file=sys.stderr)
            return 1
        expected = current.version if args.expected_version is None else args.expected_version
        changes = diff(current.document, versions.document_of(new))
        if not changes and expected == current.version:  # the same configuration again: no empty version
            print(f"unchanged: the stored version {current.version} already is this configuration")
            return 0

        def audit(conn: Any) -> None:
            from server.auth.tables import audit_log

            conn.execute(insert(audit_log), {
                "at": store.now_ms(), "actor": "cli", "role": "system", "ip": None, "action": "config.changed",
                "target": f"config:{expected + 1}",
                "detail": json.dumps({"version": expected + 1, "source": "import", "file": str(args.file),
                                      "changes": changes[:200], "changed": len(changes)}, ensure_ascii=False,
                                     default=str)})

        try:
            number, _ = versions.store_version(store, new, expected=expected, actor="cli", source="import",
                                               audit=audit)
        except Conflict as exc:
            print(f"hallq config import: {exc.en} (stored version {exc.extra.get('current_version')})",
                  file=sys.stderr)
            return 2
        print(f"stored as version {number} ({len(changes)} changes); running servers apply it now")
        return 0
    finally:
        store.close()
