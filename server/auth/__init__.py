"""Accounts, roles and security: who may do what, the audit trail, abuse limits.

Public surface::

    from server.auth import install, allow, public, Role, Principal, limit_issue
    install(app)                          # in create_app, after the routers
    router = APIRouter(dependencies=[Depends(allow(Role.CLERK, Role.SUPERVISOR, Role.ADMIN))])
"""

from server.auth.bootstrap import ensure_first_admin, install, seed_demo_accounts
from server.auth.limits import limit_issue
from server.auth.roles import MANAGERS, SIGNED_IN, STAFF, Principal, Role, allow, get_principal, public

__all__ = [
    "MANAGERS",
    "SIGNED_IN",
    "STAFF",
    "Principal",
    "Role",
    "allow",
    "ensure_first_admin",
    "get_principal",
    "install",
    "limit_issue",
    "public",
    "seed_demo_accounts",
]
