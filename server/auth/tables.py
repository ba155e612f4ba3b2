"""Tables of accounts, device tokens, sign-in sessions, sign-in attempts and the audit log.

Keep in step with ``server/store/migrations/versions/0002_accounts_audit.py``. Times are
integer milliseconds since the epoch (UTC), as in the store's tables.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, LargeBinary, MetaData, SmallInteger, String, Table, Text

metadata = MetaData()

# SQLite only auto-increments an INTEGER PRIMARY KEY
Id = BigInteger().with_variant(Integer(), "sqlite")

accounts = Table(
    "accounts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False),  # clerks: the staff number (工号)
    Column("name", String(64), nullable=False),
    Column("role", String(16), nullable=False),  # admin | supervisor | clerk
    Column("window", Integer),  # a clerk's bound window (None: chooses at sign-in)
    Column("password_hash", String(255), nullable=False),
    Column("must_change_password", SmallInteger, nullable=False),
    Column("active", SmallInteger, nullable=False),
    Column("epoch", Integer, nullable=False),  # bumped on password change: old tokens die
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    # staff directory (server/staff/, migration 0011_staff): an account is a staff member
    Column("department", String(100)),  # 所属单位, shown on the window screen
    Column("serve_windows", Text),  # JSON list of window numbers it may sign in at; NULL/[]: any window
    Column("serve_services", Text),  # JSON list of service codes it may serve; NULL/[]: its windows' services
    Column("photo_at", BigInteger),  # ms of the last photo upload (NULL: no photo); cache key of the served image
    Index("ix_accounts_username", "username", unique=True),
)

device_tokens = Table(
    "device_tokens",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("principal", String(80), nullable=False),  # kiosk:k1, display:hall, device:keypads
    Column("role", String(16), nullable=False),  # kiosk | display | device
    Column("kiosk", String(64)),
    Column("windows", Text),  # JSON list of window numbers the device may act on / show
    Column("token_hash", String(64), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("created_by", String(80), nullable=False),
    Column("revoked_at", BigInteger),
    Index("ix_device_tokens_hash", "token_hash", unique=True),
)

sessions = Table(
    "auth_sessions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("token_hash", String(64), nullable=False),
    Column("csrf", String(64), nullable=False),
    Column("principal", Text, nullable=False),  # JSON of the Principal
    Column("account_id", BigInteger),
    Column("epoch", Integer),
    Column("ip", String(64)),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("revoked_at", BigInteger),
    Index("ix_auth_sessions_hash", "token_hash", unique=True),
)

login_attempts = Table(
    "login_attempts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False),
    Column("ip", String(64), nullable=False),
    Column("at", BigInteger, nullable=False),
    Column("ok", SmallInteger, nullable=False),
    Index("ix_login_attempts_user", "username", "at"),
    Index("ix_login_attempts_ip", "ip", "at"),  # 0007_security: the per-address (spraying) limit
    Index("ix_login_attempts_at", "at"),  # 0007_security: pruning
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("at", BigInteger, nullable=False),
    Column("actor", String(80), nullable=False),
    Column("role", String(16), nullable=False),
    Column("ip", String(64)),
    Column("action", String(64), nullable=False),
    Column("target", String(128)),
    Column("detail", Text, nullable=False),  # JSON object
    Index("ix_audit_log_at", "at"),
    Index("ix_audit_log_actor", "actor", "at"),
)

# -- security hardening (issue 12; migration 0007_security) ------------------------------------------------

rate_hits = Table(
    "rate_hits",
    metadata,
    Column("key", String(160), primary_key=True),  # "kiosk:k1", "ip:10.0.0.5", "person:<keyed hash>" …
    Column("bucket", BigInteger, primary_key=True, autoincrement=False),  # now // (period / 10)
    Column("count", Integer, nullable=False),
    Column("expires_at", BigInteger, nullable=False),  # ms; no window needs the row after this
    Index("ix_rate_hits_expires", "expires_at"),
)

# -- staff directory (issue 16; migration 0011_staff) ------------------------------------------------------

staff_photos = Table(
    "staff_photos",
    metadata,
    # in the database, never under a static folder: served only through GET /api/staff/{id}/photo
    Column("account_id", BigInteger, primary_key=True, autoincrement=False),
    Column("content_type", String(32), nullable=False),  # always image/jpeg (re-encoded on upload)
    Column("data", LargeBinary, nullable=False),
    Column("width", Integer, nullable=False),
    Column("height", Integer, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)
