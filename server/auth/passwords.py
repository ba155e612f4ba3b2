"""Password hashing with argon2id (argon2-cffi): hash, verify, rehash when parameters change."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 8
MAX_LENGTH = 256  # argon2 takes any length; a cap keeps a request from costing too much
# RFC 9106 "second recommended" profile scaled for a small hall server: ~30 ms per hash
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# A hash of a random password: verifying unknown users costs as much as known ones.
_DUMMY = _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    """The argon2id hash of ``password``."""
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """True when ``password`` matches ``stored``; a missing account still spends the hashing time."""
    if len(password) > MAX_LENGTH:
        return False
    try:
        return _hasher.verify(stored or _DUMMY, password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """True when ``stored`` was made with weaker parameters than today's."""
    try:
        return _hasher.check_needs_rehash(stored)
    except (InvalidHashError, ValueError):
        return True


def password_problem(password: str, username: str = "") -> str | None:
    """Why ``password`` is not acceptable as a new password (English), or None."""
    if len(password) < MIN_LENGTH:
        return f"at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"at most {MAX_LENGTH} characters"
    if username and password.lower() == username.lower():
        return "must differ from the user name"
    if len(set(password)) < 4:
        return "too simple"
    return None


def one_time_password() -> str:
    """A random password for first start and resets (about 96 bits)."""
    return secrets.token_urlsafe(12)
