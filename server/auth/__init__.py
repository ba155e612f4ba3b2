"""Accounts, roles and security: who may do what, the audit trail, abuse limits.

Public surface::

    from server.auth import allow, public, Role, Principal, limit_issue
    router = APIRouter(dependencies=[Depends(allow(Role.CLERK, Role.SUPERVISOR, Role.ADMIN))])
"""

from server.auth.bootstrap import document, ensure_first_admin, seed_demo_accounts, start_auth
from server.auth.limits import limit_issue
from server.auth.roles import MANAGERS, SIGNED_IN, STAFF, Principal, Role, allow, get_principal, public

__all__ = [
    "MANAGERS",
    "SIGNED_IN",
    "STAFF",
    "Principal",
    "Role",
    "allow",
    "document",
    "ensure_first_admin",
    "get_principal",
    "limit_issue",
    "public",
    "seed_demo_accounts",
    "start_auth",
]
