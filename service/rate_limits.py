"""Rate limits per client, counted in Redis so every worker and instance shares them."""

from __future__ import annotations

import math
import time

import limits
import redis
from limits.errors import StorageError
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from service.store import StoreUnavailable


class RateLimits:
    """Check and count a client's submissions against limits such as "5/minute;30/hour"."""

    def __init__(self, redis_url: str, key_prefix: str, spec: str, timeout: float) -> None:
        self.items = limits.parse_many(spec) if spec else []
        self._limiter = (
            MovingWindowRateLimiter(
                # The scheme picks one server, a cluster or Sentinel, as for the service itself.
                storage_from_string(
                    redis_url,
                    key_prefix=key_prefix,
                    socket_timeout=timeout,
                    socket_connect_timeout=timeout,
                )
            )
            if self.items
            else None
        )

    def hit(self, client: str, *, count: bool = True) -> int | None:
        """Count one submission; answer the seconds to wait when a limit refuses it."""
        if self._limiter is None:
            return None
        try:
            for item in self.items:
                allowed = (
                    self._limiter.hit(item, client) if count else self._limiter.test(item, client)
                )
                if not allowed:
                    reset_at = self._limiter.get_window_stats(item, client).reset_time
                    return max(1, math.ceil(reset_at - time.time()))
        except (StorageError, redis.RedisError, OSError) as error:
            raise StoreUnavailable(type(error).__name__) from error
        return None

    def wait(self, client: str) -> int | None:
        """Give the seconds until no limit refuses the client any more, or None if none does."""
        if self._limiter is None:
            return None
        try:
            windows = [self._limiter.get_window_stats(item, client) for item in self.items]
        except (StorageError, redis.RedisError, OSError) as error:
            raise StoreUnavailable(type(error).__name__) from error
        resets = [window.reset_time for window in windows if window.remaining <= 0]
        return max(1, math.ceil(max(resets) - time.time())) if resets else None
