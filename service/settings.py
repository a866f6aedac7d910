"""Settings: code defaults, config/<env>.toml, COMMENTS_* variables, then a test mapping."""

from __future__ import annotations

import dataclasses
import ipaddress
import math
import os
import secrets
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import limits

from service.wordlists import WordList, WordListError

# The settings files sit beside the package in a checkout; an installed copy is told where they
# are with COMMENTS_CONFIG_DIR (the Docker image does).
DEFAULT_CONFIG_DIR = Path(__file__).resolve().parent.parent / "config"
# COMMENTS_* variables that choose where settings (or `news-comments serve`'s var/) come from
# rather than being settings.
LOCATOR_VARIABLES = frozenset({"COMMENTS_ENV", "COMMENTS_CONFIG_DIR", "COMMENTS_VAR_DIR"})
ENVIRONMENTS = ("development", "production")
# Read only from the environment: never from a file that might be committed.
SECRET_SETTINGS = frozenset(
    {
        "secret_key",
        "moderator_tokens",
        "webhook_secret",
        "smtp_password",
        "metrics_token",
        "cdn_purge_token",
    }
)


class SettingsError(ValueError):
    """A setting is unknown, malformed or missing."""


@dataclasses.dataclass(frozen=True)
class Settings:
    """Every setting of the service; each is documented once, in config/example.env."""

    env: str = "development"
    redis_url: str = "redis://127.0.0.1:6379/0"
    key_prefix: str = "comments"
    secret_key: str = ""
    moderator_tokens: dict[str, str] = dataclasses.field(default_factory=dict)
    cors_origins: tuple[str, ...] = ()
    max_request_bytes: int = 65536
    redis_socket_timeout: float = 2.0
    redis_connect_timeout: float = 1.0
    redis_retries: int = 2
    retry_after_seconds: int = 5
    page_cache_size: int = 2048
    # "fsync": answer a write only once Redis's AOF has it on disk (WAITAOF, Redis 7.2+);
    # "none": answer once Redis has it in memory (its appendfsync setting decides the rest).
    durability: str = "fsync"
    # Auto-moderation, applied in the order of service/admission.py.
    close_after_days: int = 0
    blocked_action: str = "refuse"
    flood_interval: int = 15
    # Development only: this machine's own address (127.0.0.1, ::1) is never held back by the
    # flood rule, so a curl and then the browser may post in turn.
    flood_exempts_loopback: bool = False
    rate_limits: str = "5/minute;30/hour"
    # Wrong moderator tokens a client may present before it is answered 429 ("" = off).
    moderator_failure_limits: str = "10/minute;50/hour"
    trusted_proxies: tuple[str, ...] = ()
    # IPv6 clients are counted by their network of this many bits (flood, limits, sign-in).
    ipv6_prefix_length: int = 64
    # Host names this service answers to (Flask's TRUSTED_HOSTS; ".example.com" takes its
    # subdomains); loopback names are always trusted, for health checks. Needed in production.
    trusted_hosts: tuple[str, ...] = ()
    disallowed_words: tuple[str, ...] = ()
    moderation_words: tuple[str, ...] = ()
    max_links: int = 2
    trusted_after_approved: int = 1
    moderation_mode: str = "all"
    max_pending: int = 100000
    # Of those, at most this many from one client network (an IPv4 address, an IPv6 /64): one
    # network cannot fill the queue for everyone (0: no share).
    max_pending_per_network: int = 1000
    purge_after_days: int = 30
    # The learning spam filter (service/spam_learning.py): a score at or above spam_threshold
    # files a comment as spam, at or above hold_threshold holds it; it abstains until it has
    # learned filter_min_samples comments of each kind.
    spam_threshold: float = 0.9
    hold_threshold: float = 0.5
    filter_min_samples: int = 50
    # Decisions the filter can undo exactly when a moderator reverses them: it keeps what it
    # learned from this many most recently learned comments (about 490 bytes each), no more.
    filter_undoable: int = 10_000
    # Offensive language (service/offensive.py): a score above it holds a comment (0: off).
    offensive_threshold: float = 0.9
    log_level: str = "INFO"
    # The bearer token Prometheus presents for /metrics; without one, production hides /metrics.
    metrics_token: str = ""
    # Webhooks: where comment events go, and the secret their HMAC-SHA256 signatures use.
    webhook_urls: tuple[str, ...] = ()
    webhook_secret: str = ""
    # Email to moderators about new pending comments, batched (news-comments notify).
    notify_emails: tuple[str, ...] = ()
    notify_from: str = "comments@example.com"
    notify_interval_seconds: int = 300
    public_url: str = ""
    smtp_host: str = "localhost"
    smtp_port: int = 587
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = True
    webhook_timeout_seconds: float = 5.0
    webhook_max_attempts: int = 8
    webhook_backoff_seconds: float = 2.0
    webhook_visibility_timeout_seconds: float = 60.0
    # How long browsers (max-age) and shared caches such as a CDN (s-maxage) may keep published
    # lists and counts, and serve them stale while they fetch a fresh copy, in seconds.
    cache_max_age: int = 5
    cache_s_maxage: int = 60
    cache_stale_while_revalidate: int = 30
    # The header naming an answer's purge keys (`article-<id>`): Surrogate-Key (Fastly;
    # space-separated) or Cache-Tag (Cloudflare; comma-separated).
    cdn_key_header: str = "Surrogate-Key"
    # Purge on change: `news-comments webhooks` calls this URL ({article_id} filled in) with this
    # method whenever an article's public list changes; the header carries the token, if any.
    cdn_purge_url: str = ""
    cdn_purge_method: str = "PURGE"
    cdn_purge_body: str = ""
    cdn_purge_header: str = ""
    cdn_purge_token: str = ""
    # Readers' data rights (service/data_rights.py): erasure, and how long private data stays.
    erase_mode: str = "anonymize"
    erase_keeps_text: bool = True
    ip_retention_days: int = 30
    reject_retention_days: int = 90
    # Readers' reports (service/reports.py): distinct clients whose reports take a published
    # comment out of publication until a moderator looks (0: never), and reports per client.
    report_threshold: int = 3
    report_limits: str = "10/minute;50/hour"

    @property
    def is_production(self) -> bool:
        """Tell whether the service runs for real readers."""
        return self.env == "production"


_FIELDS = {field.name: field for field in dataclasses.fields(Settings)}


def parse_moderator_tokens(raw: str) -> dict[str, str]:
    """Parse `name:token,name:token` into a mapping of token to moderator name."""
    tokens: dict[str, str] = {}
    for entry in filter(None, (part.strip() for part in raw.split(","))):
        name, sep, token = entry.partition(":")
        name, token = name.strip(), token.strip()
        if not sep or not name or not token:
            raise SettingsError("moderator_tokens must look like 'name:token,name:token'")
        if len(token) < 16:
            raise SettingsError(f"the token of moderator {name!r} is shorter than 16 characters")
        tokens[token] = name
    return tokens


# What a moderator token needs in production, besides its 16 characters (see config/example.env).
MIN_TOKEN_BITS = 48
SEQUENCE_RUN = 3


def token_weakness(token: str) -> str | None:
    """Say why a token is too easy to guess, or None.

    Its entropy is estimated as its length times log2 of its number of different characters,
    and no more than half of it may sit in runs of three or more repeated or consecutive
    characters (`aaa`, `abc`, `321`): a token made of a few characters, or of an alphabet's
    order, is weak whatever its length.
    """
    bits = len(token) * math.log2(len(set(token))) if token else 0.0
    if bits < MIN_TOKEN_BITS:
        return f"its estimated entropy is {bits:.0f} bits, under {MIN_TOKEN_BITS}"
    if _characters_in_runs(token) * 2 > len(token):
        return "over half of it is repeated or consecutive characters"
    return None


def _characters_in_runs(token: str) -> int:
    """Count the characters in runs of SEQUENCE_RUN or more that keep one step of -1, 0 or +1."""
    covered, start = 0, 0
    for end in range(1, len(token) + 1):
        if end < len(token):
            step = ord(token[end]) - ord(token[end - 1])
            first = ord(token[start + 1]) - ord(token[start]) if end - start >= 2 else step
            if abs(step) <= 1 and step == first:
                continue
        if end - start >= SEQUENCE_RUN:
            covered += end - start
        start = end
    return covered


def _coerce(name: str, value: Any) -> Any:
    """Turn a raw value (TOML or environment string) into the setting's type."""
    kind = _FIELDS[name].type
    if name == "moderator_tokens":
        return parse_moderator_tokens(value) if isinstance(value, str) else dict(value)
    try:
        if kind == "tuple[str, ...]":
            items = value.split(",") if isinstance(value, str) else value
            return tuple(item.strip() for item in items if item.strip())
        if kind == "int":
            return int(value)
        if kind == "float":
            return float(value)
        if kind == "bool":
            return _boolean(value)
    except (TypeError, ValueError) as error:
        raise SettingsError(f"setting {name!r} has an invalid value") from error
    return str(value)


def _boolean(value: Any) -> bool:
    """Read a true/false setting: a TOML boolean, or true/false, yes/no, on/off, 1/0."""
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in ("true", "yes", "on", "1"):
        return True
    if word in ("false", "no", "off", "0"):
        return False
    raise ValueError(f"not a boolean: {value!r}")


def _read_toml(path: Path) -> dict[str, Any]:
    with path.open("rb") as handle:
        return tomllib.load(handle)


def load_settings(
    test_config: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Build the settings from defaults, the TOML files, the environment and a test mapping."""
    environ = os.environ if environ is None else environ
    overrides = dict(test_config or {})
    env = str(overrides.get("env") or environ.get("COMMENTS_ENV") or "development")
    if env not in ENVIRONMENTS:
        raise SettingsError(f"COMMENTS_ENV must be one of {', '.join(ENVIRONMENTS)}")

    config_dir = Path(environ.get("COMMENTS_CONFIG_DIR") or DEFAULT_CONFIG_DIR)
    if not (config_dir / "defaults.toml").is_file():
        raise SettingsError(f"no settings files in {config_dir}; set COMMENTS_CONFIG_DIR")
    values: dict[str, Any] = {}
    for path in (config_dir / "defaults.toml", config_dir / f"{env}.toml"):
        for name, value in _read_toml(path).items():
            if name not in _FIELDS or name in SECRET_SETTINGS or name == "env":
                raise SettingsError(f"{path.name}: unknown or misplaced setting {name!r}")
            values[name] = value
    if environ.get("REDIS_URL"):
        values["redis_url"] = environ["REDIS_URL"]
    for variable, value in environ.items():
        if variable.startswith("COMMENTS_") and variable not in LOCATOR_VARIABLES:
            name = variable.removeprefix("COMMENTS_").lower()
            if name not in _FIELDS:
                raise SettingsError(f"unknown setting {variable}")
            values[name] = value
    for name, value in overrides.items():
        if name not in _FIELDS:
            raise SettingsError(f"unknown setting {name!r}")
        values[name] = value
    values["env"] = env

    settings = Settings(**{name: _coerce(name, value) for name, value in values.items()})
    return _checked(settings)


MODERATION_MODES = ("all", "trusted", "off")
BLOCKED_ACTIONS = ("refuse", "spam")
ERASE_MODES = ("anonymize", "delete")
DURABILITY = ("fsync", "replica", "none")
CDN_KEY_HEADERS = ("Surrogate-Key", "Cache-Tag")
CDN_PURGE_METHODS = ("PURGE", "BAN", "POST", "DELETE")


def _check_cdn(settings: Settings) -> None:
    """Refuse cache and purge settings a CDN could not use."""
    ages = (settings.cache_max_age, settings.cache_s_maxage, settings.cache_stale_while_revalidate)
    if min(ages) < 0:
        raise SettingsError("cache_max_age, cache_s_maxage and cache_stale_while_revalidate >= 0")
    if settings.cdn_key_header not in CDN_KEY_HEADERS:
        raise SettingsError(f"cdn_key_header must be one of {', '.join(CDN_KEY_HEADERS)}")
    if settings.cdn_purge_method not in CDN_PURGE_METHODS:
        raise SettingsError(f"cdn_purge_method must be one of {', '.join(CDN_PURGE_METHODS)}")
    if settings.cdn_purge_url and not settings.cdn_purge_url.startswith(("http://", "https://")):
        raise SettingsError("cdn_purge_url must be an http:// or https:// URL")
    if settings.cdn_purge_token and not settings.cdn_purge_header:
        raise SettingsError("cdn_purge_token needs cdn_purge_header, the header that carries it")
    header = settings.cdn_purge_header
    if header and not all(char.isalnum() or char in "-_" for char in header):
        raise SettingsError("cdn_purge_header must be a header name, such as Fastly-Key")


def _checked(settings: Settings) -> Settings:
    """Refuse settings that would lose data or expose readers in production."""
    if settings.moderation_mode not in MODERATION_MODES:
        raise SettingsError(f"moderation_mode must be one of {', '.join(MODERATION_MODES)}")
    if settings.blocked_action not in BLOCKED_ACTIONS:
        raise SettingsError(f"blocked_action must be one of {', '.join(BLOCKED_ACTIONS)}")
    if settings.durability not in DURABILITY:
        raise SettingsError(f"durability must be one of {', '.join(DURABILITY)}")
    if settings.erase_mode not in ERASE_MODES:
        raise SettingsError(f"erase_mode must be one of {', '.join(ERASE_MODES)}")
    if any(not url.startswith(("http://", "https://")) for url in settings.webhook_urls):
        raise SettingsError("webhook_urls must be http:// or https:// URLs")
    _check_cdn(settings)
    if settings.webhook_max_attempts < 1 or settings.webhook_backoff_seconds < 0:
        raise SettingsError("webhook_max_attempts must be 1 or more, webhook_backoff_seconds >= 0")
    if min(settings.webhook_timeout_seconds, settings.webhook_visibility_timeout_seconds) <= 0:
        raise SettingsError("webhook timeouts must be positive")
    if settings.max_pending_per_network < 0:
        raise SettingsError("max_pending_per_network must be 0 (no share) or more")
    if settings.report_threshold < 0:
        raise SettingsError("report_threshold must be 0 (never) or more")
    if not 1 <= settings.ipv6_prefix_length <= 128:
        raise SettingsError("ipv6_prefix_length must be between 1 and 128")
    if not 0 <= settings.hold_threshold <= settings.spam_threshold <= 1:
        raise SettingsError("hold_threshold and spam_threshold: 0 <= hold <= spam <= 1")
    if settings.filter_min_samples < 1 or not 0 <= settings.offensive_threshold < 1:
        raise SettingsError("filter_min_samples must be 1 or more, offensive_threshold in [0, 1)")
    if settings.filter_undoable < 0:
        raise SettingsError("filter_undoable must be 0 or more")
    try:
        for network in settings.trusted_proxies:
            ipaddress.ip_network(network, strict=False)
        for spec in (
            settings.rate_limits,
            settings.moderator_failure_limits,
            settings.report_limits,
        ):
            limits.parse_many(spec) if spec else None
    except ValueError as error:
        raise SettingsError(
            "invalid trusted_proxies, rate_limits, moderator_failure_limits or report_limits: "
            f"{error}"
        ) from error
    try:
        WordList(settings.disallowed_words)
        WordList(settings.moderation_words)
    except WordListError as error:
        raise SettingsError(f"disallowed_words or moderation_words: {error}") from error
    if settings.metrics_token and len(settings.metrics_token) < 16:
        raise SettingsError("metrics_token must be 16 characters or more")
    if settings.is_production:
        if settings.flood_exempts_loopback:
            raise SettingsError("flood_exempts_loopback is for development only")
        if len(settings.secret_key) < 32:
            raise SettingsError("production needs COMMENTS_SECRET_KEY of 32 characters or more")
        if not settings.moderator_tokens:
            raise SettingsError("production needs at least one COMMENTS_MODERATOR_TOKENS entry")
        for token, name in settings.moderator_tokens.items():
            weakness = token_weakness(token)
            if weakness:
                raise SettingsError(
                    f"the token of moderator {name!r} is too easy to guess: {weakness}; make one "
                    "with: python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"
                )
        if not settings.trusted_hosts:
            raise SettingsError(
                "production needs COMMENTS_TRUSTED_HOSTS, the host names the service answers to"
            )
        return settings
    if not settings.secret_key:
        # An ephemeral secret keeps a development server usable, but what it encrypts cannot
        # be read after a restart; `make run` always provides a persistent one under var/.
        return dataclasses.replace(settings, secret_key=secrets.token_urlsafe(32))
    return settings
