"""Broker secrets are encrypted with a key derived from the configured secret."""

from __future__ import annotations

import pytest

from order_service.adapters.db.crypto import SecretCipher
from order_service.errors import ConfigurationError


def test_a_secret_round_trips_through_its_token() -> None:
    cipher = SecretCipher("any configured string, of any length")

    token = cipher.encrypt("kite-api-secret ₹")

    assert "kite-api-secret" not in token
    assert cipher.decrypt(token) == "kite-api-secret ₹"


def test_encrypting_twice_gives_different_tokens() -> None:
    cipher = SecretCipher("key")

    assert cipher.encrypt("same") != cipher.encrypt("same")


def test_the_same_secret_key_reads_tokens_across_instances() -> None:
    assert SecretCipher("key").decrypt(SecretCipher("key").encrypt("plain")) == "plain"


@pytest.mark.parametrize("token", ["not-a-token", ""])
def test_an_unreadable_token_is_a_configuration_error(token: str) -> None:
    with pytest.raises(
        ConfigurationError, match=r"cannot decrypt stored secrets: wrong SECRET_KEY\?"
    ):
        SecretCipher("key").decrypt(token)


def test_a_token_from_another_key_is_a_configuration_error() -> None:
    token = SecretCipher("old-key").encrypt("plain")

    with pytest.raises(ConfigurationError) as caught:
        SecretCipher("new-key").decrypt(token)

    assert caught.value.message == "cannot decrypt stored secrets: wrong SECRET_KEY?"


def test_an_empty_secret_key_refuses_to_start() -> None:
    with pytest.raises(ConfigurationError):
        SecretCipher("")
