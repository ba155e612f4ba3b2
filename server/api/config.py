"""The hall configuration, live (admin): read, change with the expected version, versions, restore, YAML.

Every change is validated by the YAML's schema (``server/config.py``), stored as a new version
with an audit record holding its diff, and published as ``config.changed``; every worker and
the embedded device host apply it without a restart (``server/config_live/``). The public
``/api/config/public`` gives screens their texts (notices, 制度公示, 监督电话, 办事指南).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field

from server.auth import Principal, public
from server.auth.limits import client_ip
from server.auth.roles import Role, allow
from server.config import HallConfig
from server.config_live import versions
from server.config_live.changes import ConfigInvalid, diff, merge_patch, restart_needed, validate
from server.config_live.holder import LiveConfig
from server.config_live.masking import mask, unmask
from server.config_live.waiting import check_targets, removed_services, settle
from server.config_live.wiring import reload_now
from server.config_live.yamlio import from_yaml, to_yaml
from server.configerrors import HallConfigError
from server.errors import HallqError
from server.http.problems import responses
from server.services import Services, services_of

router = APIRouter(tags=["config"])
Admin = Annotated[Principal, Depends(allow(Role.ADMIN, window_param=None))]
PublicCaller = Annotated[Principal | None, Depends(public("the hall's public texts: notices, 制度公示, 办事指南"))]
VersionNo = Annotated[int, PathParam(ge=1, le=2**31 - 1, description="Configuration version")]
YAML_MEDIA = "application/yaml"


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ConfigChange(_In):
    """A change: a JSON merge patch (RFC 7386) or a whole document, made against ``expected_version``."""

    expected_version: int = Field(ge=0)
    patch: dict[str, Any] | None = None
    config: dict[str, Any] | None = None
    # a removed service's waiting tickets move to the named service (else the change is refused with the count)
    on_waiting: dict[str, str] = Field(default_factory=dict)


class Restore(_In):
    """Restore an old version as the next one."""

    expected_version: int = Field(ge=0)
    on_waiting: dict[str, str] = Field(default_factory=dict)


def _live(services: Services) -> LiveConfig:
    if services.live is None or not callable(getattr(services.store, "_tx", None)):
        raise HallqError(code="config_unavailable")
    return services.live


def _answer(live: LiveConfig, **extra: Any) -> dict[str, Any]:
    return {"version": live.version, "config": mask(versions.document_of(live.current)), **extra}


async def _commit(request: Request, principal: Principal, new: HallConfig, *, expected: int, source: str,
                  moves: dict[str, str], restored_from: int | None = None) -> dict[str, Any]:
    """Store ``new`` as the next version (audited, published) and apply it in this process now."""
    services = services_of(request)
    live = _live(services)
    old = live.current
    removed = removed_services(old, new)
    check_targets(new, removed, moves)
    changes = diff(versions.document_of(old), versions.document_of(new))
    if not changes and source == "import":  # the same YAML again: nothing to store, no empty version
        return _answer(live, changed=0, moved={}, restart_required=False, unchanged=True)
    ip = client_ip(request)
    moved: dict[str, int] = {}

    def audit(conn: Any) -> None:
        detail = {"version": expected + 1, "source": source, "restored_from": restored_from,
                  "changes": changes[:200], "changed": len(changes), "moved": moved}
        services.auth.audit(conn, principal, ip, "config.changed", f"config:{expected + 1}", detail)

    def before(tx: Any) -> None:
        moved.update(settle(tx, removed, moves, principal.actor))

    def work() -> tuple[int, tuple[Any, ...]]:
        return versions.store_version(services.store, new, expected=expected, actor=principal.actor,
                                      source=source, restored_from=restored_from, audit=audit, before=before)

    number, events = await services.hall.write(work)
    services.hall.enqueue(events)
    live.apply(new, number)
    return _answer(live, changed=len(changes), moved=moved, restart_required=restart_needed(old, new))


@router.get("/api/config", summary="The hall configuration and its version (admin)")
async def get_config(request: Request, principal: Admin) -> dict[str, Any]:
    """``{"version", "config"}``: the configuration this worker runs (the newest stored version)."""
    services = services_of(request)
    live = _live(services)
    reload_now(services)
    return _answer(live)


@router.patch("/api/config", summary="Change the hall configuration (admin)", responses=responses(400, 409, 422))
async def patch_config(request: Request, body: ConfigChange, principal: Admin) -> dict[str, Any]:
    """Apply a merge patch or a whole document made against ``expected_version``.

    409 ``config_stale`` (with ``current_version``) when someone stored a newer version; 422
    ``config_invalid`` listing every problem with its path — nothing is applied; 409
    ``service_has_waiting`` (with the count) when a removed service has waiting tickets and
    ``on_waiting`` does not say where they go.
    """
    services = services_of(request)
    live = _live(services)
    if (body.patch is None) == (body.config is None):
        raise ConfigInvalid([{"path": "(top level)", "message": "give exactly one of patch or config"}])
    reload_now(services)
    if body.expected_version != live.version:
        raise versions.stale(live.version, body.expected_version)
    current = versions.document_of(live.current)
    document = body.config if body.config is not None else merge_patch(current, body.patch)
    new = validate(unmask(document, current) if isinstance(document, dict) else document)
    return await _commit(request, principal, new, expected=body.expected_version, source="patch",
                         moves=body.on_waiting)


@router.get("/api/config/versions", summary="Stored configuration versions, newest first (admin)")
async def list_versions(request: Request, principal: Admin) -> list[dict[str, Any]]:
    """``[{"version", "at", "actor", "source", "restored_from"}]``."""
    services = services_of(request)
    _live(services)

    def work() -> list[dict[str, Any]]:
        with services.store._read() as conn:
            return versions.listing(conn)

    result: list[dict[str, Any]] = await services.hall.run(work)
    return result


@router.get("/api/config/versions/{number}", summary="One stored configuration version (admin)",
            responses=responses(404))
async def get_version(request: Request, number: VersionNo, principal: Admin) -> dict[str, Any]:
    """``{"version", …, "config"}`` of one stored version."""
    services = services_of(request)
    _live(services)

    def work() -> versions.Version:
        with services.store._read() as conn:
            return versions.get(conn, number)

    found = await services.hall.run(work)
    return {**found.summary(), "config": mask(found.document)}


@router.post("/api/config/versions/{number}/restore", summary="Roll back to a stored version (admin)",
             responses=responses(404, 409, 422))
async def restore_version(request: Request, number: VersionNo, body: Restore, principal: Admin) -> dict[str, Any]:
    """Store version ``number``'s document again as the next version (the history is never rewritten)."""
    services = services_of(request)
    live = _live(services)
    reload_now(services)
    if body.expected_version != live.version:
        raise versions.stale(live.version, body.expected_version)

    def work() -> versions.Version:
        with services.store._read() as conn:
            return versions.get(conn, number)

    found = await services.hall.run(work)
    new = validate(found.document)
    return await _commit(request, principal, new, expected=body.expected_version, source="restore",
                         moves=body.on_waiting, restored_from=number)


@router.get("/api/config.yaml", summary="The hall configuration as YAML (admin)", response_class=PlainTextResponse,
            responses={200: {"description": "The hall YAML (a mapping: hall, services, windows …)",
                             "content": {YAML_MEDIA: {"schema": {"type": "object"}}}}})
async def export_yaml(request: Request, principal: Admin) -> PlainTextResponse:
    """The YAML that ``hallq check-config`` reads; importing it gives the same configuration."""
    services = services_of(request)
    live = _live(services)
    reload_now(services)
    shown = live.current.model_validate(mask(versions.document_of(live.current)))  # the password as ***
    return PlainTextResponse(to_yaml(shown, live.version), media_type=YAML_MEDIA,
                             headers={"X-Config-Version": str(live.version),
                                      "Content-Disposition": f'attachment; filename="hall-v{live.version}.yaml"'})


def problems_of(exc: HallConfigError) -> list[dict[str, str]]:
    """``path: message (line N)`` lines as ``{"path", "message"}``."""
    out = []
    for line in exc.problems:
        path, sep, message = line.partition(": ")
        out.append({"path": path, "message": message} if sep else {"path": "(yaml)", "message": line})
    return out


@router.put("/api/config.yaml", summary="Import a hall YAML as the next version (admin)",
            responses=responses(409, 422))
async def import_yaml(request: Request, principal: Admin,
                      expected_version: Annotated[int, Query(ge=0)],
                      text: Annotated[str, Body(media_type=YAML_MEDIA, max_length=1_000_000)]) -> dict[str, Any]:
    """Validate the YAML as ``hallq check-config`` does and store it (422 listing every problem)."""
    services = services_of(request)
    live = _live(services)
    reload_now(services)
    if expected_version != live.version:
        raise versions.stale(live.version, expected_version)
    try:
        new = from_yaml(text)
    except HallConfigError as exc:
        raise ConfigInvalid(problems_of(exc)) from None
    document = versions.document_of(new)
    restored = unmask(document, versions.document_of(live.current))  # an exported (masked) YAML keeps the password
    if restored is not document:
        new = validate(restored)
    return await _commit(request, principal, new, expected=expected_version, source="import", moves={})


@router.get("/api/config/public", summary="Public texts of the hall: notices, 制度公示, 监督电话, 办事指南")
async def public_texts(request: Request, caller: PublicCaller,
                       version: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0) -> dict[str, Any]:
    """What screens and kiosks show; ``version`` (from a ``config.changed`` event) reloads first if this worker lags."""
    services = services_of(request)
    if services.live is not None and version > services.live.version:
        reload_now(services)
    config = services.config
    bulletin = config.bulletin
    return {
        "version": services.live.version if services.live is not None else 0,
        "hall": config.hall.name,
        "notices": list(bulletin.notices),
        "disclosures": [d.model_dump() for d in bulletin.disclosures],
        "supervision_phone": bulletin.supervision_phone,
        "services": [{"code": s.code, "name": s.name, "name_en": s.name_en, "category": s.category, "notice": s.notice,
                      "guide": s.guide.model_dump()} for s in config.services if s.enabled],
    }


HostCaller = Annotated[Principal, Depends(allow(Role.DEVICE, Role.ADMIN, window_param=None))]


@router.get("/api/config/host", summary="The configuration a device host runs (device token)")
async def host_config(request: Request, caller: HostCaller) -> dict[str, Any]:
    """``{"version", "config"}`` for ``hallq devices``: the live configuration without the server's secrets."""
    services = services_of(request)
    live = _live(services)
    reload_now(services)
    document = versions.document_of(live.current)
    document["server"] = {**document["server"], "database_url": "", "secret_path": ""}  # not the host's business
    return {"version": live.version, "config": document}
