"""The caches behind auth checks: fast for busy tokens, yet revocations still bite within CACHE_SECONDS."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import update

from server.auth import accounts as acc
from server.auth.bootstrap import memory_engine, seed_demo_accounts
from server.auth.cache import CACHE_SECONDS, REFRESH_SECONDS
from server.auth.service import AuthService
from server.auth.tables import accounts
from server.config import load_config
from server.settings import DEMO_CONFIG


def _service(monkeypatch: pytest.MonkeyPatch) -> tuple[AuthService, list[float], list[int]]:
    """A service over an in-memory database with the demo accounts; a settable monotonic clock; account reads."""
    engine = memory_engine()
    seed_demo_accounts(engine, load_config(DEMO_CONFIG))
    now = [100.0]
    auth = AuthService(engine, b"s" * 32, monotonic=lambda: now[0])
    reads: list[int] = []
    real = acc.get_account

    def counting(conn: Any, account_id: int) -> Any:
        reads.append(account_id)
        return real(conn, account_id)

    monkeypatch.setattr(acc, "get_account", counting)
    return auth, now, reads


def _request(auth: AuthService, username: str = "clerk1", ttl: int = 3600) -> Any:
    with auth.engine.connect() as conn:
        account = acc.get_by_username(conn, username)
    assert account is not None
    token = auth.signer.issue(username=username, account_id=account.id, epoch=account.epoch, windows=[1],
                              now=auth.clock().timestamp(), ttl_seconds=ttl)
    return SimpleNamespace(headers={"authorization": f"Bearer {token}"}, cookies={}), account.id


def _bump_epoch(auth: AuthService, account_id: int) -> None:
    """What a password change in another process does (this process's cache is not told)."""
    with auth.engine.begin() as conn:
        conn.execute(update(accounts).where(accounts.c.id == account_id).values(epoch=accounts.c.epoch + 1))


def test_busy_token_is_read_once_and_revocation_still_bites(monkeypatch: pytest.MonkeyPatch) -> None:
    auth, now, reads = _service(monkeypatch)
    request, account_id = _request(auth)

    async def run() -> None:
        assert (await auth.authenticate(request)).subject == "clerk1"  # type: ignore[union-attr]
        for _ in range(20):
            now[0] += 0.05
            assert (await auth.authenticate(request)) is not None
        assert reads == [account_id]  # one database read for 21 requests
        _bump_epoch(auth, account_id)
        now[0] = 100.0 + CACHE_SECONDS + 0.01
        assert await auth.authenticate(request) is None  # the old epoch's token is dead

    asyncio.run(run())


def test_entry_in_use_is_reread_in_the_background_before_it_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    auth, now, reads = _service(monkeypatch)
    request, account_id = _request(auth)

    async def run() -> None:
        assert await auth.authenticate(request) is not None
        now[0] += REFRESH_SECONDS + 0.1
        _bump_epoch(auth, account_id)
        assert await auth.authenticate(request) is not None  # still served while it is re-read
        for _ in range(100):  # the re-read runs in the thread pool
            await asyncio.sleep(0.01)
            if len(reads) == 2:
                break
        assert reads == [account_id, account_id]
        await asyncio.sleep(0.05)
        assert await auth.authenticate(request) is None  # the re-read saw the new epoch

    asyncio.run(run())


def test_concurrent_misses_share_one_read_and_expired_tokens_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    auth, _, reads = _service(monkeypatch)
    request, account_id = _request(auth)

    async def run() -> None:
        found = await asyncio.gather(*(auth.authenticate(request) for _ in range(10)))
        assert all(p is not None for p in found) and reads == [account_id]
        later = auth.clock() + dt.timedelta(hours=2)
        auth.clock = lambda: later  # past the token's exp: refused although remembered
        assert await auth.authenticate(request) is None

    asyncio.run(run())


def test_forget_drops_remembered_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    auth, _, _ = _service(monkeypatch)
    request, account_id = _request(auth)

    async def run() -> None:
        assert await auth.authenticate(request) is not None
        _bump_epoch(auth, account_id)
        auth.forget()  # a password change in this process bites at once
        assert await auth.authenticate(request) is None

    asyncio.run(run())


def test_lookups_do_not_wait_for_the_queue_writer(app: Any, client: Any) -> None:
    auth = app.state.services.auth
    done = threading.Event()

    def lookup() -> None:
        with auth.read() as conn:
            acc.get_by_username(conn, "clerk1")
        done.set()

    with app.state.services.store.engine.begin() as writer:  # BEGIN IMMEDIATE: the write lock is held
        writer.exec_driver_sql("SELECT 1")
        thread = threading.Thread(target=lookup, daemon=True)
        thread.start()
        assert done.wait(5), "an auth lookup waited for the write lock"
