"""The schema (SQLAlchemy Core). Times are integer milliseconds since the epoch (UTC).

Keep in step with the Alembic migrations in ``migrations/versions``.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, MetaData, SmallInteger, String, Table, Text

metadata = MetaData()

# SQLite only auto-increments an INTEGER PRIMARY KEY
Id = BigInteger().with_variant(Integer(), "sqlite")

tickets = Table(
    "tickets",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("business_day", String(10), nullable=False),
    Column("service", String(32), nullable=False),
    Column("seq_no", Integer, nullable=False),
    Column("number", String(16), nullable=False),
    Column("state", String(16), nullable=False),
    Column("priority", String(16), nullable=False),
    Column("rank", SmallInteger, nullable=False),
    Column("channel", String(16), nullable=False),
    Column("sort_at", BigInteger, nullable=False),  # original issue time; a transfer child keeps its parent's
    Column("issued_at", BigInteger, nullable=False),
    Column("called_at", BigInteger),
    Column("started_at", BigInteger),
    Column("finished_at", BigInteger),
    Column("state_at", BigInteger, nullable=False),  # last state change (callback deadline)
    Column("window", Integer),
    Column("target_window", Integer),
    Column("recall_count", Integer, nullable=False, default=0),
    Column("token", String(32), nullable=False),
    Column("parent_id", BigInteger),
    Column("key_hash", String(128)),
    Column("masked_id", String(32)),
    Column("masked_name", String(64)),
    Column("rating", SmallInteger),
    Column("kiosk", String(64)),
    Column("counted", SmallInteger, nullable=False, default=1),  # 1 = took a number from the counter
    Index("ix_tickets_queue", "service", "business_day", "state", "rank", "sort_at"),
    Index("ix_tickets_token", "token", unique=True),
    Index("ix_tickets_person", "key_hash", "business_day"),
    Index("ix_tickets_day_state", "business_day", "state"),
    Index("ix_tickets_called", "business_day", "called_at"),
    Index("ix_tickets_parent", "parent_id"),
    Index("ix_tickets_window_state", "window", "state"),  # 0005_windows: the call-back list
)

transitions = Table(
    "transitions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("ticket_id", BigInteger, nullable=False),
    Column("from_state", String(16)),
    Column("to_state", String(16), nullable=False),
    Column("action", String(16), nullable=False),
    Column("at", BigInteger, nullable=False),
    Column("actor", String(64), nullable=False),
    Column("window", Integer),
    Index("ix_transitions_ticket", "ticket_id"),
)

counters = Table(
    "counters",
    metadata,
    Column("service", String(32), primary_key=True),
    Column("business_day", String(10), primary_key=True),
    Column("last_number", Integer),
    Column("issued", Integer, nullable=False, default=0),
)

windows = Table(
    "windows",
    metadata,
    Column("number", Integer, primary_key=True, autoincrement=False),
    Column("state", String(16), nullable=False),
    Column("clerk", String(64)),
    Column("pause_reason", String(200)),
    Column("current_ticket_id", BigInteger),
    Column("streak", Integer, nullable=False, default=0),
    Column("updated_at", BigInteger, nullable=False),
)

ratings = Table(
    "ratings",
    metadata,
    Column("ticket_id", BigInteger, primary_key=True, autoincrement=False),
    Column("level", SmallInteger, nullable=False),
    Column("source", String(32), nullable=False),
    Column("at", BigInteger, nullable=False),
    Column("actor", String(64), nullable=False),
    Column("window", Integer),
    Column("clerk", String(64)),
    Column("service", String(32), nullable=False),
    Column("business_day", String(10), nullable=False),
    # 好差评 closed loop (server/ratings/, migration 0008_ratings): stable 评价编号, reasons, text, case
    Column("uid", String(36)),  # unique; NULL only for ratings stored before 0008
    Column("reasons", Text),  # JSON list of reason codes (差评)
    Column("text", Text),  # free text, at most ratings.text_max characters; never on a public view
    Column("case_id", BigInteger),  # the 差评 case it opened
    Index("ix_ratings_uid", "uid", unique=True),
)

events = Table(
    "events",
    metadata,
    Column("seq", Id, primary_key=True, autoincrement=True),
    Column("type", String(48), nullable=False),
    Column("topics", Text, nullable=False),  # JSON list
    Column("data", Text, nullable=False),  # JSON object
    Column("at", BigInteger, nullable=False),
)

# --- devices (server/devices/host.py): which device host runs which device, and its health ---
device_claims = Table(
    "device_claims",
    metadata,
    Column("device_id", String(64), primary_key=True),
    Column("host", String(128), nullable=False),  # the host's principal subject, e.g. "device:host"
    Column("host_label", String(200), nullable=False),  # hostname/pid, shown in the refusal
    Column("heartbeat_at", BigInteger, nullable=False),
)

device_status = Table(
    "device_status",
    metadata,
    Column("device_id", String(64), primary_key=True),
    Column("health", Text, nullable=False),  # JSON: the manager's entry (kind, driver, health …)
    Column("updated_at", BigInteger, nullable=False),
)

# --- kiosk (server/kiosk/): ID-card sessions per kiosk and ticket print jobs ---
card_sessions = Table(
    "card_sessions",
    metadata,
    Column("kiosk", String(64), primary_key=True),
    Column("session_id", String(32), nullable=False),
    Column("card_type", String(32), nullable=False),
    Column("masked_id", String(32)),
    Column("masked_name", String(64)),
    Column("key_hash", String(128)),  # keyed HMAC of the number; NULL for a refused card
    Column("age", SmallInteger),
    Column("card_expired", SmallInteger, nullable=False, default=0),
    Column("refused", String(32)),  # refusal reason code; the row then is no session
    Column("opened_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
)

print_jobs = Table(
    "print_jobs",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("ticket_id", BigInteger, nullable=False),
    Column("kiosk", String(64), nullable=False),
    Column("state", String(16), nullable=False),  # pending | printing | done | failed
    Column("fault", String(64)),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Index("ix_print_jobs_ticket", "ticket_id"),
)

# --- windows (server/windows/): which ticket a window's evaluator (评价器) may still rate, until when ---
rating_due = Table(
    "rating_due",
    metadata,
    Column("window", Integer, primary_key=True, autoincrement=False),
    Column("ticket_id", BigInteger, nullable=False),
    Column("until", BigInteger, nullable=False),  # ms; after this a press beeps
)

# --- supervision (server/alerts/): the stored alert inbox; one unresolved row per (type, subject) ---
alerts = Table(
    "alerts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("type", String(48), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("subject", String(128), nullable=False),
    Column("message", String(400), nullable=False),
    Column("evidence", String(400)),
    Column("first_seen", BigInteger, nullable=False),
    Column("last_seen", BigInteger, nullable=False),
    Column("count", Integer, nullable=False),
    Column("acked_by", String(64)),
    Column("acked_at", BigInteger),
    Column("resolved_at", BigInteger),
    Column("resolved_by", String(64)),
    Index("ix_alerts_key", "type", "subject", "resolved_at"),
)
# reports (server/reports/query.py) read window.changed events of a range from the outbox
Index("ix_events_type_at", events.c.type, events.c.at)
# 0010_alerts_dedup: one unresolved alert per (type, subject) even with several workers reporting at once
Index("ux_alerts_open", alerts.c.type, alerts.c.subject, unique=True,
      sqlite_where=alerts.c.resolved_at.is_(None), postgresql_where=alerts.c.resolved_at.is_(None))

# --- 好差评 upload (server/haochaping/): 办件 bindings and the evaluation_exports outbox ---
case_links = Table(
    "case_links",
    metadata,
    Column("ticket_id", BigInteger, primary_key=True, autoincrement=False),
    Column("project_no", String(64), nullable=False),  # 办件编号 of the approval system
    Column("item_code", String(64), nullable=False),  # 事项编码
    Column("window", Integer, nullable=False),
    Column("actor", String(64), nullable=False),
    Column("at", BigInteger, nullable=False),
)

evaluation_exports = Table(
    "evaluation_exports",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("key", String(96), nullable=False, unique=True),  # idempotency key: one per rating
    Column("ticket_id", BigInteger, nullable=False, unique=True),  # one rating per ticket (一次一评)
    Column("state", String(16), nullable=False),  # pending | sending | sent | failed | parked
    Column("record", Text, nullable=False),  # JSON: the GB/T 39735 record, fixed when queued
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", BigInteger, nullable=False),
    Column("claimed_by", String(64)),
    Column("claim_until", BigInteger),
    Column("last_error", String(400)),
    Column("created_at", BigInteger, nullable=False),
    Column("sent_at", BigInteger),
    Index("ix_evaluation_exports_due", "state", "next_attempt_at"),
)

# --- 好差评 closed loop (server/ratings/): 差评 cases (差评闭环台账) and who did what at each step ---
rating_cases = Table(
    "rating_cases",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("ticket_id", BigInteger, nullable=False, unique=True),
    Column("rating_uid", String(36), nullable=False),
    Column("state", String(16), nullable=False),
    Column("before_appeal", String(16)),
    Column("level", SmallInteger, nullable=False),
    Column("window", Integer),
    Column("clerk", String(64)),
    Column("service", String(32), nullable=False),
    Column("business_day", String(10), nullable=False),
    Column("opened_at", BigInteger, nullable=False),
    Column("verify_due", BigInteger, nullable=False),  # ms: end of the verify_days-th working day
    Column("rectify_due", BigInteger, nullable=False),
    Column("verified_at", BigInteger),
    Column("replied_at", BigInteger),
    Column("closed_at", BigInteger),
    Column("outcome", String(32)),  # closed | appeal_upheld
    Column("callback_result", String(16)),
    Column("alerted", String(16)),  # the last overdue stage alerted: verify | rectify
    Column("updated_at", BigInteger, nullable=False),
    # escalation (migration 0018_cases_escalation): 0 in time, 1 overdue (alerted), 2 escalated to supervisors
    Column("escalation_level", SmallInteger, nullable=False, server_default="0"),
    Column("escalated_at", BigInteger),
    Column("escalated", String(16)),  # the last stage escalated: verify | rectify
    Index("ix_rating_cases_state", "state", "opened_at"),
)

case_steps = Table(
    "case_steps",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("case_id", BigInteger, nullable=False),
    Column("action", String(16), nullable=False),  # open | verify | rectify | reply | close | appeal | overdue
    Column("from_state", String(16)),
    Column("to_state", String(16), nullable=False),
    Column("actor", String(80), nullable=False),
    Column("at", BigInteger, nullable=False),
    Column("detail", Text, nullable=False),  # JSON
    Index("ix_case_steps_case", "case_id", "at"),
)

# --- live hall configuration (server/config_live/, migration 0013_config_versions) ---
config_versions = Table(
    "config_versions",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),  # 1 = the YAML at first start
    Column("at", BigInteger, nullable=False),
    Column("actor", String(80), nullable=False),
    Column("source", String(16), nullable=False),  # yaml | patch | restore | import
    Column("restored_from", Integer),
    Column("config", Text, nullable=False),  # JSON of HallConfig.model_dump(mode="json")
)

# --- 预约 appointments and 远程取号 remote tickets (server/appointments/, migration 0015_appointments) ---
appointments = Table(
    "appointments",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("code", String(16), nullable=False, unique=True),  # the booking code (and its QR)
    Column("service", String(32), nullable=False),
    Column("day", String(10), nullable=False),  # the slot's local date
    Column("slot_at", BigInteger, nullable=False),  # slot start, ms
    Column("slot_minutes", SmallInteger, nullable=False),
    Column("state", String(16), nullable=False),  # booked | cancelled | checked_in | missed
    Column("key_hash", String(128), nullable=False),  # keyed hash of the ID number (never the number)
    Column("masked_id", String(32), nullable=False),
    Column("masked_name", String(64), nullable=False),
    Column("phone_hash", String(128)),  # keyed hash of the mobile number (never the number)
    Column("masked_phone", String(16)),
    Column("channel", String(16), nullable=False),  # web | staff
    Column("ticket_id", BigInteger),  # the ticket of the check-in
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Index("ix_appointments_slot", "service", "day", "slot_at", "state"),
    Index("ix_appointments_person", "key_hash", "state"),
)

remote_tickets = Table(
    "remote_tickets",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("code", String(16), nullable=False, unique=True),
    Column("service", String(32), nullable=False),
    Column("business_day", String(10), nullable=False),
    Column("state", String(16), nullable=False),  # pending | confirmed | lapsed | cancelled
    Column("phone_hash", String(128), nullable=False),
    Column("masked_phone", String(16), nullable=False),
    Column("address_hash", String(128), nullable=False),  # keyed hash of the client address
    Column("taken_at", BigInteger, nullable=False),  # its place in the queue once confirmed
    Column("expires_at", BigInteger, nullable=False),
    Column("ticket_id", BigInteger),
    Index("ix_remote_tickets_phone", "phone_hash", "business_day"),
    Index("ix_remote_tickets_address", "address_hash", "business_day"),
    Index("ix_remote_tickets_state", "state", "expires_at"),
)

# --- kiosk (server/kiosk/requests.py): one tap = one ticket; a retried tap carries the same key ---
kiosk_requests = Table(
    "kiosk_requests",
    metadata,
    Column("kiosk", String(64), primary_key=True),
    Column("key", String(64), primary_key=True),
    Column("ticket_id", BigInteger),  # NULL while the first attempt is still issuing
    Column("created_at", BigInteger, nullable=False),
    Index("ix_kiosk_requests_created", "created_at"),
)

# --- SMS notices (server/notices/): the one place a full mobile number lives, and the notice outbox ---
notice_contacts = Table(
    "notice_contacts",
    metadata,
    Column("key", String(96), primary_key=True),  # ticket:<id> | appointment:<code>
    Column("phone", String(96)),  # the full number, sealed (server/notices/numbers.py); NULL once erased
    Column("masked", String(16), nullable=False),
    Column("phone_hash", String(128), nullable=False),
    Column("ticket_id", BigInteger),
    Column("created_at", BigInteger, nullable=False),
    Column("erase_at", BigInteger),  # erase the full number from this time on (set when it is no longer needed)
    Column("erased_at", BigInteger),
    Index("ix_notice_contacts_ticket", "ticket_id"),
    Index("ix_notice_contacts_erase", "erase_at"),
)

notices = Table(
    "notices",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("dedup", String(128), unique=True),  # exactly once: e.g. near:<ticket id>
    Column("key", String(96), nullable=False),  # the notice_contacts row
    Column("kind", String(32), nullable=False),
    Column("text", Text, nullable=False),
    Column("masked", String(16), nullable=False),
    Column("channel", String(16), nullable=False),  # log | http | modem
    Column("state", String(16), nullable=False),  # queued | sending | sent | delivered | retrying | failed | cancelled
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", BigInteger, nullable=False),
    Column("claimed_by", String(64)),
    Column("claim_until", BigInteger),
    Column("last_error", String(400)),
    Column("refs", String(64)),  # the modem's TP-MRs ("12,13,14"), matched with delivery reports
    Column("created_at", BigInteger, nullable=False),
    Column("sent_at", BigInteger),
    Column("delivered_at", BigInteger),
    Index("ix_notices_due", "state", "next_attempt_at"),
    Index("ix_notices_key", "key"),
)
