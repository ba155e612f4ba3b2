"""Who sits at a window: the staff directory's identity, checked against the windows it may serve."""

from __future__ import annotations

from typing import Any

from server.auth.roles import STAFF, Principal, Role
from server.errors import HallqError
from server.staff import directory


class StaffRefused(HallqError):
    """A request naming someone the directory does not know (422)."""

    status = 422


def window_clerk(auth: Any, principal: Principal | None, window: int, asked: str | None) -> str | None:
    """The 工号 shown at (and credited with the ratings of) ``window`` opened by ``principal``.

    A clerk is always their own directory entry (the body is ignored) and must be allowed at
    the window (403 ``window_not_allowed``, also for a token made before the directory
    changed). A supervisor or device host may name a clerk by 工号: it must be in the
    directory (422 ``unknown_staff``) and allowed there. A manager naming nobody sits
    there themselves; a device naming nobody leaves the clerk unchanged. Runs in a thread.
    """
    if principal is None:
        return None
    with auth.read() as conn:
        if principal.role is Role.CLERK:
            account = directory.require(conn, principal.account_id or 0)
            directory.check_window(account, window)
            return account.username
        if asked is None:
            return principal.subject[:64] if principal.role in STAFF else None
        named = directory.by_staff_no(conn, asked.strip())
        if named is None:
            raise StaffRefused(f"工作人员名录中没有工号 {asked}", f"No staff member has the number {asked}",
                               code="unknown_staff", staff_no=asked)
        directory.check_window(named, window)
        return named.username
