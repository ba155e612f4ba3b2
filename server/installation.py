"""The per-installation secret and the keyed hash of ID numbers.

The secret file (``server.secret_path``, default ``var/secret.key``) holds 32 random
bytes, created on first use with mode 0600. The identity key is derived from it for
this one purpose, so the same file can serve other components without key reuse.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
from collections.abc import Callable
from pathlib import Path

SECRET_BYTES = 32
IDENTITY_PURPOSE = b"hallq identity key v1"


def load_or_create_secret(path: str | Path) -> bytes:
    """Read the secret file, creating it (0600, 32 random bytes) when it does not exist."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        data = secrets.token_bytes(SECRET_BYTES)
        try:
            # O_EXCL: two processes starting at once must not overwrite each other's secret.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return load_or_create_secret(path)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        with contextlib.suppress(OSError):
            os.chmod(path, 0o600)  # the umask may have narrowed it further; never wider
        return data
    if len(data) < 16:
        raise ValueError(f"{path}: secret file is too short ({len(data)} bytes)")
    return data


def identity_key(secret: bytes) -> bytes:
    """The key used for ID-number hashes, derived from the installation secret."""
    return hmac.new(secret, IDENTITY_PURPOSE, hashlib.sha256).digest()


def key_hash(id_number: str, key: bytes) -> str:
    """Hex HMAC-SHA256 of a normalised ID number (what the store keeps instead of the number)."""
    normalised = id_number.strip().upper().encode()
    return hmac.new(key, normalised, hashlib.sha256).hexdigest()


def identity_hasher(secret_path: str | Path) -> Callable[[str], str]:
    """``key_hash`` with the identity key of the installation secret at ``secret_path`` (created on first use)."""
    key = identity_key(load_or_create_secret(secret_path))
    return lambda id_number: key_hash(id_number, key)
