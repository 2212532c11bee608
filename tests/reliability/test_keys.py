"""API keys: ``claimdesk account rotate-key`` (the old key works for the grace period, then not) and
``revoke-key`` (at once, on every process, through each process's key cache), with real processes."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from claimdesk.accounts.keys import bump_epoch, revoke_keys, rotate_key
from claimdesk.accounts.service import create_account, grant_for_key
from claimdesk.api.deps import KeyCache
from claimdesk.db import Database
from tests.conftest import DATABASES

from .guardkit import bearer, cli, cli_json, environment, fresh_database, serving


def status(url: str, key: str) -> int:
    return httpx.get(url + "/account", headers=bearer(key), timeout=10).status_code


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return fresh_database(request, request.param, tmp_path)


class TestAcrossProcesses:
    def test_rotation_grace_and_revocation_reach_every_process(self, database_url: str, tmp_path: Path) -> None:
        env = environment(database_url, tmp_path)
        account = cli_json(env, "account", "create", "Rotating Reseller")
        account_id = str(account["account"]["id"])
        first = account["api_key"]
        with (
            serving(env, tmp_path / "a.log", "--no-worker") as one,
            serving(env, tmp_path / "b.log", "--no-worker") as two,
        ):
            servers = (one.url, two.url)
            for url in servers:  # each process now holds the key in its cache
                assert [status(url, first) for _ in range(3)] == [200, 200, 200]

            rotated = cli_json(env, "account", "rotate-key", account_id)
            second = rotated["api_key"]
            assert second != first
            assert rotated["old_keys"] == 1
            assert rotated["old_keys_expire_at"] is not None  # 24 hours from now, by default
            for url in servers:  # the grace period: both keys work everywhere
                assert (status(url, first), status(url, second)) == (200, 200)

            revoked = cli_json(env, "account", "revoke-key", account_id)
            assert revoked["revoked"] == 2
            assert revoked["api_key"] is None
            # The command has returned: no process accepts either key any more, cached or not.
            for url in servers:
                assert (status(url, first), status(url, second)) == (401, 401)

            # A revoked account gets a key again by rotating (no old key to keep).
            third = cli_json(env, "account", "rotate-key", account_id)
            assert third["old_keys"] == 0
            for url in servers:
                assert status(url, third["api_key"]) == 200

            # A short grace period ends on its own, on every process, though the key is cached there.
            short = cli_json(env, "account", "rotate-key", account_id, "--grace-hours", "0.0005")  # 1.8 s
            for url in servers:
                assert (status(url, third["api_key"]), status(url, short["api_key"])) == (200, 200)
            for url in servers:  # polled: the old key stops working once its 1.8 s are over
                deadline = time.monotonic() + 30
                while status(url, third["api_key"]) != 401:
                    assert time.monotonic() < deadline, "the old key still works after its grace period"
                    time.sleep(0.05)
                assert status(url, short["api_key"]) == 200

            # --new-key revokes and hands out the replacement in one transaction.
            replaced = cli_json(env, "account", "revoke-key", account_id, "--new-key")
            assert replaced["revoked"] == 1
            for url in servers:
                assert (status(url, short["api_key"]), status(url, replaced["api_key"])) == (401, 200)

    def test_an_unknown_account_is_an_error_not_a_key(self, tmp_path: Path) -> None:
        env = environment(f"sqlite:///{tmp_path / 'keys.db'}", tmp_path)
        for command in ("rotate-key", "revoke-key"):
            result = cli(env, "account", command, "4711", check=False)
            assert result.returncode == 1
            assert "Account 4711 not found" in result.stderr
            assert "cdk_" not in result.stdout + result.stderr


class TestService:
    def test_grace_period_and_revocation(self, request: pytest.FixtureRequest, tmp_path: Path) -> None:
        import datetime as dt

        db = Database(fresh_database(request, "sqlite", tmp_path))
        try:
            with db.transaction() as session:
                account, first = create_account(session, "Service Reseller")
                account_id = account.id
            with db.transaction() as session:
                rotation = rotate_key(session, account_id, grace=dt.timedelta(hours=24))
            with db.session() as session:
                old = grant_for_key(session, first)
                new = grant_for_key(session, rotation.key)
            assert old is not None
            assert old.expires_at == rotation.old_keys_expire_at
            assert new is not None
            assert new.expires_at is None
            # A second rotation never lengthens the first key's grace period.
            with db.transaction() as session:
                again = rotate_key(session, account_id, grace=dt.timedelta(hours=48))
            with db.session() as session:
                still = grant_for_key(session, first)
                assert still is not None
                assert still.expires_at == old.expires_at
            with db.transaction() as session:
                assert revoke_keys(session, account_id, replace=False).revoked == 3
            with db.session() as session:
                assert [grant_for_key(session, k) for k in (first, rotation.key, again.key)] == [None, None, None]
            with db.transaction() as session:
                rotate_key(session, account_id, grace=dt.timedelta(0))
        finally:
            db.dispose()


class TestKeyCache:
    def test_a_lookup_that_raced_a_revocation_is_not_cached(
        self, request: pytest.FixtureRequest, tmp_path: Path
    ) -> None:
        db = Database(fresh_database(request, "sqlite", tmp_path))
        try:
            with db.transaction() as session:
                _, key = create_account(session, "Cached Reseller")
            cache = KeyCache(recheck_seconds=0.01)
            cache.refresh(db)
            with db.session() as session:
                grant = grant_for_key(session, key)
            assert grant is not None
            generation = cache.generation  # the lookup began here ...
            with db.transaction() as session:
                bump_epoch(session)  # ... a revocation committed meanwhile ...
            time.sleep(0.02)
            cache.refresh(db)  # ... and this process saw it before the lookup finished
            cache.put("digest", grant, generation)
            assert cache.get("digest") is None
            cache.put("digest", grant, cache.generation)
            assert cache.get("digest") == grant.actor
            with db.transaction() as session:
                bump_epoch(session)
            time.sleep(0.02)
            assert cache.stale
            cache.refresh(db)
            assert cache.get("digest") is None  # dropped: the epoch moved
        finally:
            db.dispose()
