"""Settings. Nothing else in the package reads ``os.environ``."""

from __future__ import annotations

import enum
from functools import lru_cache

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Environment(enum.StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


# In production a secret must be at least this long and none of the values that examples and habits put there.
MIN_SECRET_CHARS = 32
DEVELOPMENT_SECRETS = frozenset(
    {"", "dev", "development", "secret", "secret-key", "changeme", "change-me", "insecure", "test", "demo"}
)


class UnsafeSettings(Exception):
    """Settings that production mode refuses; ``problems`` name each setting at fault."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("claimdesk refuses to start in production (CLAIMDESK_ENV=production): " + "; ".join(problems))


class Settings(BaseSettings):
    """Every setting comes from a ``CLAIMDESK_*`` environment variable."""

    model_config = SettingsConfigDict(env_prefix="CLAIMDESK_", extra="ignore")

    # "production" refuses to start without its secrets (see ``production_problems``); "development", the
    # default, runs with the stand-ins the demo and a fresh checkout need.
    env: Environment = Environment.DEVELOPMENT
    database_url: str = "sqlite:///./claimdesk.db"
    # PostgreSQL: the connections each process keeps open, and the most units of work it runs at once.
    # Around twice the database server's cores serves best; every process of a deployment has its own.
    database_pool_size: int = Field(default=16, ge=1, le=1000)
    allow_private_urls: bool = False
    rate_limit: str = "300/minute"
    # "memory://" keeps counters per process; "redis://host:port" shares them between processes.
    rate_limit_storage: str = "memory://"
    retry_base_seconds: float = 5.0
    max_file_bytes: int = 25 * 1024 * 1024
    max_body_bytes: int = 1024 * 1024
    # API keys: after `claimdesk account rotate-key`, the old key keeps working this long (hours; 0 ends it
    # at once). Each process looks at most this many seconds apart whether keys were revoked or rotated
    # (one row read), so a revoked key stops working everywhere within it; `revoke-key` waits that long.
    api_key_grace_hours: float = Field(default=24.0, ge=0)
    api_key_recheck_seconds: float = Field(default=1.0, gt=0, le=60)
    # Where evidence files are kept (a local folder; object storage can come later).
    storage_dir: str = "./claimdesk-files"
    file_fetch_max_attempts: int = 6
    # Fetching evidence files: connect and read (between bytes) timeouts, and a deadline for the whole
    # download, so a host that answers one byte at a time cannot hold a worker thread (nor outlive its lease).
    file_connect_timeout_seconds: float = Field(default=10.0, gt=0)
    file_read_timeout_seconds: float = Field(default=30.0, gt=0)
    file_fetch_deadline_seconds: float = Field(default=120.0, gt=0)
    # The longest side of an image's thumbnail, in pixels.
    thumbnail_px: int = Field(default=320, ge=16, le=2048)
    # Attempt n waits about retry_base_seconds * 2**(n-1): with the default 5 s, the 15th and last attempt
    # comes about 23 hours after the first.
    webhook_max_attempts: int = 15
    # Connect, send and read, each; a slower endpoint's attempt fails (and is retried).
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    # An endpoint whose deliveries fail without a single success for this long is disabled (5 days).
    webhook_disable_after_seconds: float = 5 * 24 * 3600
    smtp_url: str | None = None
    smtp_from: str = "claimdesk@localhost"
    worker_poll_seconds: float = Field(default=0.5, gt=0)
    # A claimed job is the worker's for this long; the worker renews the lease of the jobs it is running
    # every third of it, so a job of a worker that died is taken again by another once its lease ran out.
    job_lease_seconds: float = Field(default=300.0, ge=1)
    sql_echo: bool = False
    # Slow clients (`claimdesk serve`): a request's line and headers must arrive within the first, its body
    # within the second (counted from the end of the headers), or the connection is closed (408); an idle
    # kept-alive connection is closed after the third.
    request_head_timeout_seconds: float = Field(default=10.0, gt=0)
    request_body_timeout_seconds: float = Field(default=60.0, gt=0)
    keep_alive_seconds: int = Field(default=5, ge=1)

    # The web UI (sign-in, console, portal). Session cookies are Secure (sent over HTTPS only) unless this
    # is turned off for plain-HTTP development and the demo (`claimdesk serve --demo` does so by itself).
    secure_cookies: bool = True
    # A web session ends this long after sign-in, or after this long without a request, whichever is first.
    web_session_hours: float = Field(default=12.0, gt=0)
    web_session_idle_minutes: float = Field(default=120.0, gt=0)
    # Failed sign-ins allowed per e-mail and per client address before /login answers 429 (counted in
    # rate_limit_storage, so every process of a deployment sees the same counts when that is Redis).
    signin_limit_per_email: str = "5/15minutes"
    signin_limit_per_address: str = "30/15minutes"
    # Web pages (sign-in, console, portal, their files and thumbnails) answered per signed-in session, and
    # per client address whoever asks (an office behind one address shares it); past either, a 429 page with
    # Retry-After. Counted in rate_limit_storage like the API's per-key limit, which is separate.
    web_rate_limit_per_session: str = "300/minute"
    web_rate_limit_per_address: str = "1200/minute"
    # Signs what the web pages hand to the browser and take back (the portal's photos kept between two
    # submits of a form). Unset: a random key made once and kept in storage_dir (".web-signing-key"), which
    # every process of a deployment shares anyway for the files.
    # In production it must be set (at least 32 characters, not a placeholder): the stored random key is a
    # development stand-in, lost with a folder and not shared by processes on different machines.
    secret_key: SecretStr | None = None

    def production_problems(self) -> list[str]:
        """What production mode refuses in these settings, one sentence per setting; empty when fine or in
        development."""
        if self.env is not Environment.PRODUCTION:
            return []
        problems = []
        key = self.secret_key.get_secret_value() if self.secret_key is not None else None
        if key is None or not key.strip():
            problems.append("CLAIMDESK_SECRET_KEY is not set (give it a random value of 32 or more characters)")
        elif key.strip().lower() in DEVELOPMENT_SECRETS:
            problems.append("CLAIMDESK_SECRET_KEY is a development placeholder (give it a random value)")
        elif len(key) < MIN_SECRET_CHARS:
            problems.append(f"CLAIMDESK_SECRET_KEY is shorter than {MIN_SECRET_CHARS} characters")
        return problems

    def check_production(self) -> None:
        """Raise ``UnsafeSettings`` when production mode's secrets are missing or left at a default."""
        if problems := self.production_problems():
            raise UnsafeSettings(problems)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
