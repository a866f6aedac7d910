"""The comment service behind a news site: guest replies, a moderation queue, published threads."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import Flask
from flask_cors import CORS
from flask_smorest import Api

from service.admission import Admission
from service.comments import CommentService
from service.data_rights import DataRights
from service.errors import register_error_handlers
from service.flask_app import ServiceFlask
from service.idempotency import IdempotentSubmissions
from service.keys import Keys
from service.moderation import ModerationService, SiteRules
from service.moderators import Moderators
from service.observability import configure_logging, register_observability
from service.offensive import OffensiveLanguage
from service.privacy import Privacy
from service.rate_limits import RateLimits
from service.reports import Reports
from service.request_limits import register_request_limits
from service.routes import data_rights, health, moderation, pages, public, reports
from service.routes.converters import register_converters
from service.settings import Settings, load_settings
from service.spam_filter_store import SpamFilterStore
from service.spam_learning import SpamFilter
from service.store import Store
from service.topology import RedisClient, Timeouts, connect

EXTENSION = "news_comments"
# Always answered, whatever trusted_hosts says: health checks call the service on loopback.
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")


@dataclass(frozen=True)
class Services:
    """What the views reach through `current_app`: one of each per app."""

    settings: Settings
    store: Store
    comments: CommentService
    moderation: ModerationService
    idempotency: IdempotentSubmissions
    moderators: Moderators
    site_rules: SiteRules
    data_rights: DataRights
    reports: Reports
    spam_filter: SpamFilter


def create_redis(settings: Settings) -> RedisClient:
    """Build the app's one Redis client for the topology REDIS_URL names, with bounded
    timeouts and a few quick retries."""
    return connect(
        settings.redis_url,
        Timeouts(
            settings.redis_socket_timeout, settings.redis_connect_timeout, settings.redis_retries
        ),
    )


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the service: settings, Redis client, use cases, API, errors."""
    settings = load_settings(test_config)
    configure_logging(settings.log_level)
    app = ServiceFlask(__name__)
    app.config.update(
        API_TITLE="News comments",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        MAX_CONTENT_LENGTH=settings.max_request_bytes,
        RETRY_AFTER_SECONDS=settings.retry_after_seconds,
        # Without a list, any Host header is believed and echoed in redirects (Werkzeug's
        # merge-slashes 308, say); an untrusted one gets 400.
        TRUSTED_HOSTS=[*settings.trusted_hosts, *LOOPBACK_HOSTS]
        if settings.trusted_hosts
        else None,
    )

    privacy = Privacy(settings.secret_key)
    wants_events = bool(settings.webhook_urls or settings.notify_emails or settings.cdn_purge_url)
    store = Store(
        create_redis(settings),
        Keys(settings.key_prefix),
        events=wants_events,
        durability=settings.durability,
    )
    spam_filter = SpamFilter(
        store,
        SpamFilterStore(store.client, Keys(settings.key_prefix), settings.filter_undoable),
        privacy,
        settings.filter_min_samples,
    )
    app.extensions[EXTENSION] = Services(
        settings=settings,
        store=store,
        comments=CommentService(
            store,
            privacy,
            Admission(
                settings,
                RateLimits(
                    settings.redis_url,
                    Keys(settings.key_prefix).rate_limits(),
                    settings.rate_limits,
                    settings.redis_socket_timeout,
                ),
            ),
            settings.page_cache_size,
            spam_filter,
            OffensiveLanguage.load(settings.offensive_threshold),
        ),
        moderation=ModerationService(store, privacy, spam_filter),
        idempotency=IdempotentSubmissions(store),
        moderators=Moderators(
            store,
            settings.moderator_tokens,
            RateLimits(
                settings.redis_url,
                Keys(settings.key_prefix).sign_in_failures(),
                settings.moderator_failure_limits,
                settings.redis_socket_timeout,
            ),
        ),
        site_rules=SiteRules(store, privacy, settings),
        data_rights=DataRights(store, privacy, settings, spam_filter=spam_filter),
        reports=Reports(
            store,
            privacy,
            settings,
            RateLimits(
                settings.redis_url,
                Keys(settings.key_prefix).report_limits(),
                settings.report_limits,
                settings.redis_socket_timeout,
            ),
        ),
        spam_filter=spam_filter,
    )

    api = Api(app)
    api.spec.components.security_scheme("moderatorToken", {"type": "http", "scheme": "bearer"})
    api.spec.components.security_scheme("metricsToken", {"type": "http", "scheme": "bearer"})
    register_converters(app, api)
    for blueprint in (
        public.blp,
        reports.blp,
        moderation.blp,
        reports.moderation_blp,
        data_rights.blp,
        health.blp,
    ):
        api.register_blueprint(blueprint)
    app.register_blueprint(pages.blp)
    if settings.cors_origins:
        CORS(
            app,
            resources={r"/api/v1/(articles|counts)(/.*)?": {}},
            origins=settings.cors_origins,
            expose_headers=["Location", "Retry-After", "ETag"],
            # CORS headers only for an allowed Origin; `Vary: Origin` comes once, from the
            # public blueprint (flask-cors would add a second one).
            always_send=False,
            vary_header=False,
        )
    register_observability(app)
    register_request_limits(app)
    register_error_handlers(app)
    return app
