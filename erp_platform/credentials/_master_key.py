"""The local store's master key: from ``ERP_MASTER_KEY``, else a 0600 key file created on first use."""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import SecretStr

from erp_platform._errors import ConfigurationError
from erp_platform.db import validate_slug

KEY_BYTES = 32
_KEY_ID_DOMAIN = b"erp-platform/master-key-id/v1\x00"
_HKDF_SALT = b"erp-platform/credentials/v1"
_KEYGEN_HINT = (
    'python -c "import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())"'
)


def master_key_id(key: bytes) -> str:
    """A short, non-reversible id of a master key (16 hex digits), stored next to each ciphertext."""
    return hashlib.sha256(_KEY_ID_DOMAIN + key).hexdigest()[:16]


@dataclass(frozen=True, repr=False)
class MasterKey:
    """The 32-byte master key, where it came from, and its id. ``repr`` never shows the key."""

    key: bytes = field(repr=False)
    source: str
    key_id: str = field(init=False)

    def __post_init__(self) -> None:
        if len(self.key) != KEY_BYTES:
            raise ConfigurationError(f"master key from {self.source} is {len(self.key)} bytes, 32 are needed")
        object.__setattr__(self, "key_id", master_key_id(self.key))

    def __repr__(self) -> str:
        return f"MasterKey(key_id={self.key_id!r}, source={self.source!r})"

    def tenant_key(self, tenant: str) -> bytes:
        """The AES-256 key of one tenant: HKDF-SHA256 of the master key, ``info`` binding the slug."""
        info = b"erp-platform/credentials/v1/tenant:" + validate_slug(tenant).encode("ascii")
        return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=_HKDF_SALT, info=info).derive(self.key)


def load_master_key(configured: SecretStr | None, key_file: Path) -> MasterKey:
    """The master key: ``ERP_MASTER_KEY`` when set, else ``key_file`` (created with mode 0600 if absent).

    Raises:
        ConfigurationError: the key file is accessible by group or others, or does not hold a valid key.
    """
    if configured is not None:
        raw = _decode(configured.get_secret_value(), "ERP_MASTER_KEY")
        return MasterKey(key=raw, source="ERP_MASTER_KEY")
    key_file = key_file.expanduser().absolute()
    if not key_file.exists():
        _create_key_file(key_file)
    return _read_key_file(key_file)


def _decode(text: str, source: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(text.strip().encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raw = b""
    if len(raw) != KEY_BYTES:
        raise ConfigurationError(
            f"{source} does not hold a urlsafe-base64 32-byte key: restore the key the credentials were "
            f"encrypted with (a new key cannot decrypt them); a fresh key comes from: {_KEYGEN_HINT}"
        )
    return raw


def _read_key_file(key_file: Path) -> MasterKey:
    mode = stat.S_IMODE(key_file.stat().st_mode)
    if mode & 0o077:
        raise ConfigurationError(
            f"master key file {key_file} is accessible by group or others (mode {mode:03o}): restrict it "
            f"to its owner with `chmod 600 {key_file}`, then retry"
        )
    text = key_file.read_text(encoding="ascii", errors="replace")
    return MasterKey(key=_decode(text, f"key file {key_file}"), source=str(key_file))


def _create_key_file(key_file: Path) -> None:
    """Write a new random key atomically: a 0600 temp file, then ``link`` (loses a race gracefully)."""
    key_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temp = key_file.with_name(f".{key_file.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, base64.urlsafe_b64encode(os.urandom(KEY_BYTES)) + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(temp, key_file)
    except FileExistsError:
        pass  # another process created it first: use theirs
    finally:
        temp.unlink()
