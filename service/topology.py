"""Connect to Redis as REDIS_URL says: one server, a Redis Cluster, or a Sentinel-managed primary.

The scheme picks the topology, for the app, the workers, the commands and the rate limits alike
(the schemes the `limits` library reads too):

* `redis://` / `rediss://` / `unix://`: one server, as redis-py reads it;
* `redis+cluster://[user:password@]host:port[,host:port…]` (or `rediss+cluster://`): the startup
  nodes of a cluster; the client learns the slot map and follows it as slots move or fail over;
* `redis+sentinel://[user:password@]host:port[,host:port…]/<service-name>[/<db>]`: sentinels
  watching one primary; the client asks them for the primary and asks again after a failover.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import redis
from redis.backoff import ExponentialBackoff
from redis.cluster import ClusterNode, RedisCluster
from redis.exceptions import RedisClusterException
from redis.retry import Retry
from redis.sentinel import Sentinel

# What the service talks to: one server (directly or through Sentinel), or a cluster.
RedisClient = redis.Redis | RedisCluster

CLUSTER_SCHEMES = {"redis+cluster": False, "rediss+cluster": True}
SENTINEL_SCHEMES = {"redis+sentinel": False, "rediss+sentinel": True}
SINGLE_SCHEMES = {"redis", "rediss", "unix"}


class TopologyError(ValueError):
    """REDIS_URL is malformed, or names a topology the servers it names do not have."""


@dataclass(frozen=True)
class Timeouts:
    """How long a command and a connection may take, and how often a failed one is retried."""

    socket: float = 2.0
    connect: float = 1.0
    retries: int = 2


def _hosts(netloc: str, url: str) -> tuple[dict[str, Any], list[tuple[str, int]]]:
    """Split `[user:password@]host:port,host:port` into credentials and addresses."""
    credentials, _, hosts = netloc.rpartition("@")
    auth: dict[str, Any] = {}
    if credentials:
        user, _, password = credentials.partition(":")
        if user:
            auth["username"] = unquote(user)
        if password:
            auth["password"] = unquote(password)
    addresses = []
    for host in hosts.split(","):
        name, _, port = host.strip().rpartition(":")
        if not name or not port.isdigit():
            raise TopologyError(f"REDIS_URL {redacted(url)}: give each node as host:port")
        addresses.append((name.strip("[]"), int(port)))
    return auth, addresses


def redacted(url: str) -> str:
    """Give a URL with its password hidden, fit for an error message or a log line."""
    parts = urlsplit(url)
    if parts.password:
        hosts = parts.netloc.rpartition("@")[2]
        user = parts.username or ""
        return parts._replace(netloc=f"{user}:***@{hosts}").geturl()
    return url


def scheme_of(url: str) -> str:
    """Give a REDIS_URL's scheme, lower-cased."""
    return urlsplit(url).scheme.lower()


def connect(url: str, timeouts: Timeouts, **options: Any) -> RedisClient:
    """Build a client for the topology REDIS_URL names (nothing is sent yet for one server or
    Sentinel; a cluster client reads the slot map at once)."""
    scheme = scheme_of(url)
    retry = Retry(ExponentialBackoff(cap=0.5, base=0.05), timeouts.retries)
    common: dict[str, Any] = {
        "socket_timeout": timeouts.socket,
        "socket_connect_timeout": timeouts.connect,
        **options,
    }
    if scheme in SINGLE_SCHEMES:
        return redis.Redis.from_url(url, retry=retry, health_check_interval=30, **common)
    parts = urlsplit(url)
    if scheme in CLUSTER_SCHEMES:
        auth, addresses = _hosts(parts.netloc, url)
        if CLUSTER_SCHEMES[scheme]:
            common["ssl"] = True
        try:
            return RedisCluster(
                startup_nodes=[ClusterNode(host, port) for host, port in addresses],
                retry=retry,
                **auth,
                **common,
            )
        except (redis.RedisError, RedisClusterException) as error:
            raise TopologyError(
                f"REDIS_URL {redacted(url)}: no cluster answers there ({_reason(error)})"
            ) from error
    if scheme in SENTINEL_SCHEMES:
        auth, addresses = _hosts(parts.netloc, url)
        path = [part for part in parts.path.split("/") if part]
        if not path or len(path) > 2 or (len(path) == 2 and not path[1].isdigit()):
            raise TopologyError(
                f"REDIS_URL {redacted(url)}: name the service, as redis+sentinel://host:port/name"
            )
        if SENTINEL_SCHEMES[scheme]:
            common["ssl"] = True
        sentinel = Sentinel(
            addresses,
            sentinel_kwargs={**auth, **common},
            **auth,
            **common,
        )
        db = int(path[1]) if len(path) == 2 else 0
        return sentinel.master_for(path[0], retry=retry, db=db)
    raise TopologyError(
        f"REDIS_URL {redacted(url)}: unknown scheme {scheme!r}; use redis://, rediss://, "
        "redis+cluster:// or redis+sentinel://"
    )


def check(client: RedisClient, url: str) -> str:
    """Prove the topology answers as REDIS_URL says; answer a one-line description of it.

    Raises TopologyError when nothing answers, or when a single-server URL names a cluster
    node (every command on another node's slots would fail later, one by one)."""
    try:
        if isinstance(client, RedisCluster):
            masters = client.get_primaries()
            client.ping(target_nodes=RedisCluster.ALL_NODES)
            return f"Redis Cluster with {len(masters)} primaries"
        info = client.info("server") | client.info("cluster")
    except (redis.RedisError, RedisClusterException) as error:
        raise TopologyError(f"REDIS_URL {redacted(url)}: {_reason(error)}") from error
    if int(info.get("cluster_enabled", 0)):
        raise TopologyError(
            f"REDIS_URL {redacted(url)} names a node of a Redis Cluster: "
            "use redis+cluster://host:port,… instead"
        )
    kind = "Sentinel-managed primary" if scheme_of(url) in SENTINEL_SCHEMES else "one server"
    return f"{kind}, {info.get('redis_version', '?')}"


def _reason(error: Exception) -> str:
    """Give an error's first line, with nothing of a traceback."""
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
