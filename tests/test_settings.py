"""Settings precedence, validation, and production's refusal to start unsafe."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.settings import SettingsError, load_settings

TOKENS = "editor:editor-token-0123456789"
SECRET = "s" * 40


def test_defaults_then_environment_then_mapping() -> None:
    settings = load_settings(environ={})
    assert settings.env == "development"
    assert settings.key_prefix == "comments"
    assert settings.max_request_bytes == 65536
    assert settings.cors_origins == ("http://127.0.0.1:8000", "http://localhost:8000")

    environ = {
        "COMMENTS_KEY_PREFIX": "site-a",
        "COMMENTS_CORS_ORIGINS": "https://a.example, https://b.example",
        "COMMENTS_REDIS_SOCKET_TIMEOUT": "0.5",
        "COMMENTS_MODERATOR_TOKENS": TOKENS,
        "REDIS_URL": "redis://redis.internal:6379/2",
    }
    settings = load_settings(environ=environ)
    assert settings.key_prefix == "site-a"
    assert settings.cors_origins == ("https://a.example", "https://b.example")
    assert settings.redis_socket_timeout == 0.5
    assert settings.moderator_tokens == {"editor-token-0123456789": "editor"}
    assert settings.redis_url == "redis://redis.internal:6379/2"

    assert load_settings({"key_prefix": "from-test"}, environ=environ).key_prefix == "from-test"


@pytest.mark.parametrize(
    "environ",
    [
        {"COMMENTS_NO_SUCH_SETTING": "1"},
        {"COMMENTS_ENV": "staging"},
        {"COMMENTS_MAX_REQUEST_BYTES": "lots"},
        {"COMMENTS_MODERATOR_TOKENS": "no-colon-here-0123456789"},
        {"COMMENTS_MODERATOR_TOKENS": "editor:short"},
    ],
)
def test_bad_settings_are_reported(environ: dict[str, str]) -> None:
    with pytest.raises(SettingsError):
        load_settings(environ=environ)


@pytest.mark.parametrize(
    "environ",
    [
        {"COMMENTS_ENV": "production", "COMMENTS_MODERATOR_TOKENS": TOKENS},
        {"COMMENTS_ENV": "production", "COMMENTS_SECRET_KEY": SECRET},
        {
            "COMMENTS_ENV": "production",
            "COMMENTS_SECRET_KEY": "too-short",
            "COMMENTS_MODERATOR_TOKENS": TOKENS,
            "COMMENTS_TRUSTED_HOSTS": "comments.example.com",
        },
        {
            "COMMENTS_ENV": "production",
            "COMMENTS_SECRET_KEY": SECRET,
            "COMMENTS_MODERATOR_TOKENS": TOKENS,
        },
    ],
)
def test_production_refuses_to_start_without_secret_token_and_hosts(
    environ: dict[str, str],
) -> None:
    with pytest.raises(SettingsError):
        load_settings(environ=environ)


def test_production_starts_with_secret_and_token() -> None:
    settings = load_settings(
        environ={
            "COMMENTS_ENV": "production",
            "COMMENTS_SECRET_KEY": SECRET,
            "COMMENTS_MODERATOR_TOKENS": TOKENS,
            "COMMENTS_TRUSTED_HOSTS": "comments.example.com,.example.org",
        }
    )
    assert settings.is_production
    assert settings.trusted_hosts == ("comments.example.com", ".example.org")
    assert settings.secret_key == SECRET
    assert settings.redis_url == "redis://redis:6379/0"


def test_development_without_secret_gets_an_ephemeral_one() -> None:
    first, second = load_settings(environ={}), load_settings(environ={})
    assert len(first.secret_key) >= 32
    assert first.secret_key != second.secret_key


def test_settings_files_are_found_or_reported(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="COMMENTS_CONFIG_DIR"):
        load_settings(environ={"COMMENTS_CONFIG_DIR": str(tmp_path)})
    (tmp_path / "defaults.toml").write_text('key_prefix = "elsewhere"\n')
    (tmp_path / "development.toml").write_text("")
    assert load_settings(environ={"COMMENTS_CONFIG_DIR": str(tmp_path)}).key_prefix == "elsewhere"
