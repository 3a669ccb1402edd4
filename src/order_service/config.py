"""Settings: the only reader of the environment (ORDER_SERVICE_ prefix)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from order_service.errors import ConfigurationError

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./var/order-service.db"
KITE_API_ROOT = "https://api.kite.trade"
KITE_LOGIN_URL = "https://kite.zerodha.com/connect/login"


class Mode(StrEnum):
    DEMO = "demo"
    PRODUCTION = "production"


class Settings(BaseSettings):
    """Every knob of the service; see the README's configuration table."""

    model_config = SettingsConfigDict(env_prefix="ORDER_SERVICE_", extra="ignore")

    mode: Mode = Mode.DEMO
    database_url: str = DEFAULT_DATABASE_URL
    redis_url: str | None = None
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 8000
    secret_key: SecretStr | None = None
    jwt_secret: SecretStr | None = None
    kite_root: str | None = None
    kite_login_url: str | None = None
    kite_timeout_seconds: Annotated[float, Field(gt=0)] = 7.0
    paper_broker_port: Annotated[int, Field(ge=1, le=65535)] = 8001
    broker_threads: Annotated[int, Field(ge=1, le=256)] = 32
    max_body_bytes: Annotated[int, Field(ge=1024)] = 64 * 1024
    unknown_grace_seconds: Annotated[float, Field(ge=0)] = 60.0
    sync_interval_seconds: Annotated[float, Field(gt=0)] = 1.0
    log_level: str = "INFO"
    log_json: bool = True
    var_dir: str = "./var"
    rate_orders_per_second: Annotated[int, Field(ge=1)] = 10
    rate_orders_per_minute: Annotated[int, Field(ge=1)] = 400
    rate_orders_per_day: Annotated[int, Field(ge=1)] = 5000
    rate_other_per_second: Annotated[int, Field(ge=1)] = 10
    rate_quotes_per_second: Annotated[int, Field(ge=1)] = 1
    rate_margin_seconds: Annotated[float, Field(ge=0, le=1)] = 0.05
    rate_max_wait_seconds: Annotated[float, Field(ge=0)] = 5.0
    breaker_failures: Annotated[int, Field(ge=1)] = 5
    breaker_cooldown_seconds: Annotated[float, Field(gt=0)] = 10.0

    @field_validator("database_url")
    @classmethod
    def _known_driver(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("database_url must be sqlite+aiosqlite:// or postgresql+asyncpg://")
        return value

    @property
    def broker_root(self) -> str:
        """Return the Kite REST root: the paper broker in demo mode, Kite in production."""
        if self.kite_root:
            return self.kite_root.rstrip("/")
        if self.mode is Mode.PRODUCTION:
            return KITE_API_ROOT
        return f"http://127.0.0.1:{self.paper_broker_port}"

    @property
    def broker_login_url(self) -> str:
        if self.kite_login_url:
            return self.kite_login_url
        if self.mode is Mode.PRODUCTION and not self.kite_root:
            return KITE_LOGIN_URL
        return f"{self.broker_root}/connect/login"

    def require_production_secrets(self) -> None:
        """Refuse to start in production without the secrets the demo would generate."""
        if self.mode is not Mode.PRODUCTION:
            return
        missing = [
            name
            for name, value in (("SECRET_KEY", self.secret_key), ("JWT_SECRET", self.jwt_secret))
            if value is None or not value.get_secret_value()
        ]
        if missing:
            names = ", ".join(f"ORDER_SERVICE_{name}" for name in missing)
            raise ConfigurationError(f"production mode needs {names}")


def load_settings(**overrides: object) -> Settings:
    """Read the environment (overrides win); a bad value is a ``ConfigurationError``."""
    from pydantic import ValidationError as PydanticValidationError

    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except PydanticValidationError as exc:
        raise ConfigurationError(f"invalid configuration: {exc}") from exc
