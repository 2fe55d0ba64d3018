"""Domain errors become rich gRPC statuses and back; settings refuse missing or placeholder secrets."""

from __future__ import annotations

import grpc
import pytest
from google.rpc import status_pb2

from leadflood_platform.db import Database
from leadflood_platform.errors import FieldViolation, InvalidArgument, NotFound, field_violations, to_rpc_status
from leadflood_platform.settings import ServiceSettings, load, require_secret


def test_invalid_argument_carries_the_field_through_a_rich_status() -> None:
    status = to_rpc_status(InvalidArgument.on("email", "is not valid"))
    assert status.code == grpc.StatusCode.INVALID_ARGUMENT
    decoded = status_pb2.Status.FromString(dict(status.trailing_metadata)["grpc-status-details-bin"])
    assert field_violations(decoded) == [FieldViolation("email", "is not valid")]


def test_not_found_has_no_field_details() -> None:
    status = to_rpc_status(NotFound("lead x not found"))
    assert status.code == grpc.StatusCode.NOT_FOUND and status.details == "lead x not found"
    decoded = status_pb2.Status.FromString(dict(status.trailing_metadata)["grpc-status-details-bin"])
    assert field_violations(decoded) == []


@pytest.mark.parametrize("value", [None, "", "changeme", "short"])
def test_missing_or_placeholder_secret_stops_start_up(value: str | None) -> None:
    with pytest.raises(SystemExit, match="AUTH_JWT_SECRET is required"):
        require_secret("auth_jwt_secret", value)


@pytest.mark.parametrize("value", [None, "changeme", "x" * 31])
def test_a_service_without_a_32_character_internal_token_key_does_not_start(value: str | None) -> None:
    settings = ServiceSettings(database_url="postgresql://x:y@127.0.0.1/z", internal_token_key=value)
    with pytest.raises(SystemExit, match="INTERNAL_TOKEN_KEY is required: set it to a random value of 32"):
        settings.internal_token_keys()


def test_a_rotation_accepts_the_previous_internal_token_key_after_the_current_one() -> None:
    settings = ServiceSettings(
        database_url="postgresql://x:y@127.0.0.1/z", internal_token_key="n" * 32, internal_token_key_previous="o" * 32
    )
    assert settings.internal_token_keys() == ["n" * 32, "o" * 32]


def test_real_secret_is_accepted() -> None:
    assert require_secret("auth_jwt_secret", "x" * 32) == "x" * 32


def test_settings_read_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://leads_svc:pw@127.0.0.1:5432/leadflood")
    monkeypatch.setenv("JOB_RETRY_BACKOFF_MS", "5,15,45")
    settings = ServiceSettings()
    assert settings.database_url == "postgresql+asyncpg://leads_svc:pw@127.0.0.1:5432/leadflood"
    assert settings.job_retry_backoff_ms == [5, 15, 45]


def test_settings_without_a_database_url_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    with pytest.raises(ValueError, match="database_url"):
        ServiceSettings()


def test_the_pool_size_is_a_setting_within_bounds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://leads_svc:pw@127.0.0.1:5432/leadflood")
    monkeypatch.setenv("DB_POOL_SIZE", "3")
    settings = load(ServiceSettings)
    assert Database(settings.database_url, pool_size=settings.db_pool_size).engine.pool.size() == 3
    monkeypatch.setenv("DB_POOL_SIZE", "0")
    with pytest.raises(SystemExit, match="DB_POOL_SIZE"):
        load(ServiceSettings)
