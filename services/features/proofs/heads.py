r"""Signed tree heads: what the log commits to, signed with its Ed25519 key. No I/O.

The signature covers ``b"samverkan.audit.tree_head.v1\n"`` followed by the canonical JSON
``{"root_hash":<hex>,"size":<int>,"timestamp":<ISO-8601 UTC>}`` (keys sorted, no spaces).
"""

import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

HEAD_CONTEXT = b"samverkan.audit.tree_head.v1\n"


@dataclass(frozen=True)
class TreeHead:
    """What the log commits to at one moment: its size and root."""

    size: int
    root_hash: bytes
    timestamp: datetime

    def message(self) -> bytes:
        """The exact bytes that are signed."""
        body = {
            "root_hash": self.root_hash.hex(),
            "size": self.size,
            "timestamp": self.timestamp.astimezone(UTC).isoformat(timespec="microseconds"),
        }
        return HEAD_CONTEXT + json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


@dataclass(frozen=True)
class SignedTreeHead(TreeHead):
    """A tree head with the log's Ed25519 signature and the key that made it."""

    signature: bytes
    public_key: bytes

    def verify(self, trusted_key: bytes | None = None) -> bool:
        """Whether the signature holds, made by `trusted_key` if one is given."""
        if trusted_key is not None and trusted_key != self.public_key:
            return False
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(
                self.signature, self.message()
            )
        except (InvalidSignature, ValueError):
            return False
        return True

    def to_json(self) -> dict[str, object]:
        """The published form."""
        return {
            "size": self.size,
            "root_hash": self.root_hash.hex(),
            "timestamp": self.timestamp.astimezone(UTC).isoformat(timespec="microseconds"),
            "signature": base64.b64encode(self.signature).decode(),
            "public_key": base64.b64encode(self.public_key).decode(),
            "algorithm": "Ed25519",
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> "SignedTreeHead":
        """Read a published head."""
        return cls(
            size=int(str(data["size"])),
            root_hash=bytes.fromhex(str(data["root_hash"])),
            timestamp=datetime.fromisoformat(str(data["timestamp"])),
            signature=base64.b64decode(str(data["signature"])),
            public_key=decode_public_key(str(data["public_key"])),
        )


def decode_public_key(text: str) -> bytes:
    """A raw 32-byte Ed25519 public key from base64 (as published) or hex."""
    text = text.strip()
    raw = bytes.fromhex(text) if len(text) == 64 else base64.b64decode(text)
    if len(raw) != 32:
        raise ValueError("an Ed25519 public key has 32 bytes")
    return raw


class Signer:
    """Signs tree heads with the log's Ed25519 key."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._key = private_key
        self.public_key = private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    @classmethod
    def from_secret(cls, secret: str) -> "Signer":
        """From the base64 of a raw 32-byte Ed25519 private key (see `new_secret`)."""
        try:
            raw = base64.b64decode(secret.strip(), validate=True)
        except ValueError as exc:
            raise ValueError("the audit signing key is not base64") from exc
        if len(raw) != 32:
            raise ValueError("the audit signing key must be 32 bytes (base64 of an Ed25519 key)")
        return cls(Ed25519PrivateKey.from_private_bytes(raw))

    def sign(self, head: TreeHead) -> SignedTreeHead:
        """The signed form of `head`."""
        return SignedTreeHead(
            head.size,
            head.root_hash,
            head.timestamp,
            signature=self._key.sign(head.message()),
            public_key=self.public_key,
        )


def new_secret() -> str:
    """A fresh signing key, as the base64 text the settings expect."""
    raw = Ed25519PrivateKey.generate().private_bytes(
        Encoding.Raw, PrivateFormat.Raw, NoEncryption()
    )
    return base64.b64encode(raw).decode()
