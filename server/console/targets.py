"""Where a clerk may transfer the current ticket: open windows and the services served now (号码不变)."""

from __future__ import annotations

from typing import Any

STAFFED = ("open", "calling", "serving")  # a clerk is at the window; closed and paused windows take no transfers


def open_windows(snapshot: dict[str, Any], own: int) -> list[dict[str, Any]]:
    """The other windows a clerk is at now, in number order."""
    return sorted((w for w in snapshot.get("windows", []) if w["state"] in STAFFED and w["number"] != own),
                  key=lambda w: int(w["number"]))


def transfer_targets(snapshot: dict[str, Any], own: int, waiting_at: dict[int, int]) -> dict[str, Any]:
    """The transfer dialog's choices: open windows with how many wait there, services an open window serves.

    ``waiting_at`` maps a window number to the tickets it could call now. A service counts
    as served now when any staffed window, this one included, calls it.
    """
    windows = open_windows(snapshot, own)
    staffed = [w for w in snapshot.get("windows", []) if w["state"] in STAFFED]
    served = {code for w in staffed for code in w.get("services", [])}
    services = [{"code": s["code"], "name": s["name"], "name_en": s.get("name_en") or "",
                 "waiting": int(s.get("waiting") or 0),
                 "windows": sorted(int(w["number"]) for w in staffed if s["code"] in w.get("services", []))}
                for s in snapshot.get("services", []) if s["code"] in served]
    return {
        "windows": [{"number": int(w["number"]), "name": w.get("name") or "", "name_en": w.get("name_en") or "",
                     "state": w["state"],
                     "clerk": w.get("clerk"), "waiting": int(waiting_at.get(int(w["number"]), 0))} for w in windows],
        "services": services,
    }
