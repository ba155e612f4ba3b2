"""Staff directory routes: the directory (admins write, every change audited), photos, screen cards."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from server.auth import MANAGERS, STAFF, Role, allow, public
from server.auth.accounts import count_admins
from server.auth.limits import client_ip
from server.auth.passwords import one_time_password, password_problem
from server.auth.roles import Principal, get_principal
from server.deps import ConfigDep, HallDep
from server.errors import Forbidden, HallqError, NotFound
from server.http.problems import responses
from server.services import services_of
from server.staff import directory, photos
from server.staff.stars import stars_of

router = APIRouter(prefix="/api/staff", tags=["staff"])
Admin = Annotated[Principal, Depends(allow(Role.ADMIN, window_param=None))]
Viewer = [Depends(allow(Role.DISPLAY, Role.DEVICE, *STAFF, window_param=None))]
StaffId = Annotated[int, PathParam(ge=1, le=2**31 - 1, description="Staff member (account) id")]
# the body limit of the photo route (server/http/middleware.py): the route itself refuses over
# staff.photo_max_bytes with 422; only far larger bodies are cut off with 413 before they are read
PHOTO_UPLOAD_LIMIT = ((r"/api/staff/\d+/photo", 21_000_000),)
_resized = photos.ResizedCache()


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StaffIn(_In):
    """A new staff member; without ``password`` a one-time password is made and returned once."""

    staff_no: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$", description="工号")
    name: str = Field(min_length=1, max_length=64, description="姓名")
    department: str = Field(default="", max_length=100, description="所属单位")
    role: Literal["admin", "supervisor", "clerk"] = "clerk"
    windows: list[int] = Field(default_factory=list, max_length=999, description="windows it may serve; []: any")
    services: list[str] = Field(default_factory=list, max_length=999, description="services it may serve")
    password: str | None = Field(default=None, min_length=8, max_length=256)


class StaffPatch(_In):
    """Change a staff member (omitted fields stay)."""

    name: str | None = Field(default=None, min_length=1, max_length=64)
    department: str | None = Field(default=None, max_length=100)
    role: Literal["admin", "supervisor", "clerk"] | None = None
    windows: list[int] | None = Field(default=None, max_length=999)
    services: list[str] | None = Field(default=None, max_length=999)
    active: bool | None = None


def _check_lists(config: Any, windows: list[int] | None, services: list[str] | None) -> None:
    for n in windows or ():
        config.window(n)  # unknown_window (404)
    for code in services or ():
        config.service(code)  # unknown_service (404)


@router.get("", summary="The staff directory, or who may sign in at a window",
            dependencies=[Depends(public("staff cards (工号, 姓名, 所属单位) are on the public screens anyway; "
                                         "the sign-in picker reads them before sign-in"))],
            responses=responses(404, 422))
async def list_staff(request: Request, config: ConfigDep,
                     window: Annotated[int | None, Query(ge=1, le=999)] = None) -> list[dict[str, Any]]:
    """Admins and supervisors: every member with role, windows, services, active (``window``: those allowed there).

    Anyone else (the sign-in picker before sign-in, a screen): the cards of active clerks —
    工号, 姓名, 所属单位, photo URL — allowed at ``window`` when given.
    """
    auth = services_of(request).auth
    if window is not None:
        config.window(window)  # unknown_window (404)
    caller = await get_principal(request)
    full = caller is not None and caller.role in MANAGERS and not caller.must_change_password

    def work() -> list[dict[str, Any]]:
        with auth.read() as conn:
            if full:
                people = directory.list_staff(conn)
                if window is not None:
                    people = [a for a in people if a.role is Role.CLERK and a.may_sign_in_at(window)]
                return [directory.row(a) for a in people]
            people = directory.allowed_at(conn, window) if window is not None else directory.active_clerks(conn)
            return [directory.card(a) for a in people]

    return await auth.run(work)


@router.get("/card", summary="The clerk signed in at a window (窗口屏)", dependencies=Viewer,
            responses=responses(401, 403, 404, 422))
async def window_card(request: Request, config: ConfigDep, hall: HallDep,
                      window: Annotated[int, Query(ge=1, le=999)]) -> dict[str, Any] | None:
    """姓名, 工号, 所属单位, photo and stars of the clerk at ``window`` now; null when nobody is signed in."""
    config.window(window)
    staff_no = (await hall.window(window)).get("clerk")
    if not staff_no:
        return None
    auth, settings = services_of(request).auth, config.staff

    def work() -> dict[str, Any] | None:
        with auth.read() as conn:
            account = directory.by_staff_no(conn, staff_no)
            if account is None:  # opened before the directory (an old free-text clerk): show no one
                return None
            stars = stars_of(conn, account.username, now_ms=auth.now_ms(), days=settings.stars_days,
                             min_ratings=settings.stars_min_ratings)
            return {**directory.card(account), "stars": stars.public() if stars else None}

    return await auth.run(work)


@router.post("", status_code=201, summary="Add a staff member (admin)", responses=responses(400, 404, 409, 422))
async def create_staff(request: Request, body: StaffIn, principal: Admin, config: ConfigDep) -> dict[str, Any]:
    """Add a member (an account whose user name is the 工号); the one-time password is shown once."""
    _check_lists(config, body.windows, body.services)
    if body.password and (problem := password_problem(body.password, body.staff_no)):
        raise HallqError(f"密码不符合要求：{problem}", f"Password rejected: {problem}", code="weak_password")
    password = body.password or one_time_password()
    auth = services_of(request).auth

    def work() -> dict[str, Any]:
        with auth.tx() as conn:
            account = directory.create(conn, staff_no=body.staff_no, name=body.name, role=Role(body.role),
                                       password=password, now_ms=auth.now_ms(), department=body.department,
                                       windows=body.windows, services=body.services)
            out = directory.row(account)
            auth.audit(conn, principal, client_ip(request), "staff.created", f"account:{account.id}",
                       {k: v for k, v in out.items() if k not in ("photo", "must_change_password")})
            return out

    out = await auth.run(work)
    return {"staff": out, "one_time_password": None if body.password else password}


@router.patch("/{staff_id}", summary="Change a staff member (admin)", responses=responses(400, 403, 404, 409, 422))
async def update_staff(request: Request, staff_id: StaffId, body: StaffPatch, principal: Admin,
                       config: ConfigDep) -> dict[str, Any]:
    """Change name, 所属单位, role, windows, services or active; old tokens die when access narrows."""
    _check_lists(config, body.windows, body.services)
    auth = services_of(request).auth
    change = directory.StaffChange(name=body.name, department=body.department,
                                   role=Role(body.role) if body.role else None, windows=body.windows,
                                   services=body.services, active=body.active)

    def work() -> dict[str, Any]:
        with auth.tx() as conn:
            before = directory.row(directory.require(conn, staff_id))
            losing_admin = body.active is False or body.role not in (None, "admin")
            if before["role"] == "admin" and losing_admin and count_admins(conn) <= 1:
                raise Forbidden("不能停用最后一个管理员", "Cannot deactivate the last admin", code="last_admin")
            after = directory.row(directory.change(conn, staff_id, change, now_ms=auth.now_ms()))
            diff = {k: {"from": before[k], "to": after[k]} for k in after if before[k] != after[k]}
            auth.audit(conn, principal, client_ip(request), "staff.updated", f"account:{staff_id}", diff)
            return after

    out = await auth.run(work)
    auth.forget()
    return out


@router.put("/{staff_id}/photo", summary="Upload a staff photo (admin)", responses=responses(400, 404, 413, 422),
            openapi_extra={"requestBody": {"required": True, "content": {
                t: {"schema": {"type": "string", "format": "binary"}} for t in sorted(photos.ACCEPTED_TYPES)}}})
async def put_photo(request: Request, staff_id: StaffId, principal: Admin, config: ConfigDep) -> dict[str, Any]:
    """The body is the image (JPEG, PNG or WebP, at most ``staff.photo_max_bytes``); stored re-encoded."""
    data = await request.body()
    auth = services_of(request).auth

    def work() -> dict[str, Any]:
        jpeg, width, height = photos.check_upload(data, request.headers.get("content-type"),
                                                  config.staff.photo_max_bytes)
        with auth.tx() as conn:
            account = directory.set_photo(conn, staff_id, jpeg, width, height, auth.now_ms())
            auth.audit(conn, principal, client_ip(request), "staff.photo_set", f"account:{staff_id}",
                       {"bytes": len(data), "stored_bytes": len(jpeg), "width": width, "height": height})
            return directory.row(account)

    return await auth.run(work)


@router.get("/{staff_id}/photo", summary="A staff photo, resized", dependencies=Viewer,
            responses={200: {"content": {"image/jpeg": {}}}, **responses(401, 403, 404, 422)})
async def get_photo(request: Request, staff_id: StaffId,
                    size: Annotated[int | None, Query(ge=16, le=2048, description="height in pixels")] = None
                    ) -> Response:
    """The photo as JPEG, ``size`` pixels high (rounded up to 64, 128, 256 or 512; never enlarged)."""
    auth = services_of(request).auth

    def work() -> bytes:
        with auth.read() as conn:
            found = directory.photo_of(conn, staff_id)
        if found is None:
            raise NotFound("此工作人员没有照片", f"No photo for staff member {staff_id}", code="no_photo")
        original, version = found
        height = photos.served_size(size)
        return original if height is None else _resized.get(staff_id, version, height, original)

    body = await auth.run(work)
    # private: a shared cache must not keep a person's photo; the URL carries the upload time
    return Response(body, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=3600"})
