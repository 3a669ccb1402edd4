"""Encryption at rest for broker secrets, access tokens and webhook signing secrets.

Keys rotate with ``MultiFernet``: the current key encrypts, and it or any old key still
decrypts, so a service started with a new key (and the old one listed as old) reads what was
stored before; ``rotate`` re-encrypts a stored value under the current key.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from order_service.errors import ConfigurationError


def _fernet(secret: str) -> Fernet:
    # Fernet wants 32 url-safe base64 bytes; hashing lets the secret be any string.
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(secret.encode()).digest()))


class SecretCipher:
    """Fernet (AES-128-CBC + HMAC-SHA256) keyed by the configured secret strings."""

    def __init__(self, secret: str, old: Sequence[str] = ()) -> None:
        if not secret or any(not key for key in old):
            raise ConfigurationError("SECRET_KEY (and every old secret key) must not be empty")
        self._fernet = MultiFernet([_fernet(key) for key in (secret, *old)])

    def encrypt(self, plain: str) -> str:
        """Return an authenticated, randomized token for ``plain``, under the current key."""
        return self._fernet.encrypt(plain.encode()).decode("ascii")

    def decrypt(self, token: str) -> str:
        """Return the plain text of ``token``; a token from another key is a setup error."""
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise ConfigurationError("cannot decrypt stored secrets: wrong SECRET_KEY?") from exc

    def readable(self, token: str) -> bool:
        """Return whether one of the keys decrypts ``token``."""
        try:
            self._fernet.decrypt(token.encode())
        except InvalidToken:
            return False
        return True

    def rotate(self, token: str) -> str:
        """Return ``token`` re-encrypted under the current key (its timestamp kept)."""
        try:
            return self._fernet.rotate(token.encode()).decode("ascii")
        except InvalidToken as exc:
            raise ConfigurationError("cannot decrypt stored secrets: wrong SECRET_KEY?") from exc
