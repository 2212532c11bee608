"""Production mode (``CLAIMDESK_ENV=production``) refuses to start without its secrets, with one line naming
the setting; development, the default, runs with its stand-ins. The command is run as a user runs it."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from claimdesk.app import create_app
from claimdesk.config import Environment, Settings, UnsafeSettings

from .guardkit import cli, environment, serving

GOOD_KEY = "k3JwQm9yZ2V0LXRoaXMtaXMtYS10ZXN0LWtleS0xMjM0NTY"


def settings_for(tmp_path: Path, **overrides: object) -> Settings:
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'secrets.db'}",
        storage_dir=str(tmp_path / "files"),
        **overrides,  # type: ignore[arg-type]  # the fields' own types, checked by pydantic
    )


class TestServeCommand:
    @pytest.mark.parametrize(
        ("secret", "says"),
        [
            (None, "CLAIMDESK_SECRET_KEY is not set"),
            ("", "CLAIMDESK_SECRET_KEY is not set"),
            ("change-me", "CLAIMDESK_SECRET_KEY is a development placeholder"),
            ("short-but-random-7f3a", "CLAIMDESK_SECRET_KEY is shorter than 32 characters"),
        ],
    )
    def test_production_without_a_real_secret_key_refuses_to_start(
        self, tmp_path: Path, secret: str | None, says: str
    ) -> None:
        database = tmp_path / "prod.db"
        extra = {"env": "production"} | ({"secret_key": secret} if secret is not None else {})
        env = environment(f"sqlite:///{database}", tmp_path, **extra)
        result = cli(env, "serve", "--port", "1", check=False)
        assert result.returncode == 2
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith("error: claimdesk refuses to start in production (CLAIMDESK_ENV=production)")
        assert says in lines[0]
        if secret:
            assert secret not in lines[0]  # the message names the setting, never its value
        assert not database.exists()  # refused before the database was touched

    def test_production_refuses_the_demo_and_names_every_problem(self, tmp_path: Path) -> None:
        env = environment(f"sqlite:///{tmp_path / 'prod.db'}", tmp_path, env="production")
        result = cli(env, "serve", "--demo", check=False)
        assert result.returncode == 2
        (line,) = result.stderr.strip().splitlines()
        assert "CLAIMDESK_SECRET_KEY is not set" in line
        assert "--demo" in line

    def test_production_with_its_secret_key_serves(self, tmp_path: Path) -> None:
        env = environment(f"sqlite:///{tmp_path / 'prod.db'}", tmp_path, env="production", secret_key=GOOD_KEY)
        with serving(env, tmp_path / "serve.log", "--no-worker") as served:
            assert httpx.get(served.url + "/login", timeout=10).status_code == 200
            assert GOOD_KEY not in served.log()

    def test_an_unknown_environment_is_refused(self, tmp_path: Path) -> None:
        env = environment(f"sqlite:///{tmp_path / 'prod.db'}", tmp_path, env="prod")
        result = cli(env, "serve", "--port", "1", check=False)
        assert result.returncode != 0
        assert "env" in result.stderr


class TestAppFactory:
    def test_development_is_the_default_and_needs_no_secret(self, tmp_path: Path) -> None:
        settings = settings_for(tmp_path)
        assert settings.env is Environment.DEVELOPMENT
        assert settings.production_problems() == []
        create_app(settings)

    def test_production_without_the_secret_key_is_refused(self, tmp_path: Path) -> None:
        with pytest.raises(UnsafeSettings) as refused:
            create_app(settings_for(tmp_path, env="production"))
        assert refused.value.problems == [
            "CLAIMDESK_SECRET_KEY is not set (give it a random value of 32 or more characters)"
        ]
        assert "\n" not in str(refused.value)

    @pytest.mark.parametrize("placeholder", ["secret", "  CHANGEME ", "development"])
    def test_production_with_a_placeholder_is_refused(self, tmp_path: Path, placeholder: str) -> None:
        with pytest.raises(UnsafeSettings, match="development placeholder"):
            create_app(settings_for(tmp_path, env="production", secret_key=placeholder))

    def test_production_with_a_real_secret_key_builds(self, tmp_path: Path) -> None:
        settings = settings_for(tmp_path, env="production", secret_key=GOOD_KEY)
        assert settings.production_problems() == []
        create_app(settings)
