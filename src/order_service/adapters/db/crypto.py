"""Encryption at rest for broker secrets and access tokens."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken

from order_service.errors import ConfigurationError


class SecretCipher:
    """Fernet (AES-128-CBC + HMAC-SHA256) keyed by the configured secret string."""

    def __init__(self, secret: str) -> None:
        if not secret:
            raise ConfigurationError("SECRET_KEY must not be empty")
        # Fernet wants 32 url-safe base64 bytes; hashing lets the secret be any string.
        key = base64.urlsafe_b64encode(hashlib.sha256(secret.encode()).digest())
        self._fernet = Fernet(key)

    def encrypt(self, plain: str) -> str:
        """Return an authenticated, randomized token for ``plain``."""
        return self._fernet.encrypt(plain.encode()).decode("ascii")

    def decrypt(self, token: str) -> str:
        """Return the plain text of ``token``; a token from another key is a setup error."""
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise ConfigurationError("cannot decrypt stored secrets: wrong SECRET_KEY?") from exc
