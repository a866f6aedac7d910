"""Run a write script and answer only once it is as durable as `durability` asks.

* `none`: once the primary has it in memory.
* `fsync`: once the primary's append-only file has it on disk (`WAITAOF 1 0`).
* `replica`: once it is on the primary's disk and on at least one replica (`WAITAOF 1 1`; on a
  server without WAITAOF, such as Redis 7.0, or without AOF, once a replica has it: `WAIT 1`).

A wait proves something only for the connection that sent the write, so the script and the wait
travel together in one pipeline: on one server (or a Sentinel-managed primary) on one pooled
connection; on a cluster on a connection to the primary that owns the keys' slot, following
`MOVED` and `ASK` while slots move and failovers happen. A write that cannot be confirmed is
refused (StoreUnavailable, so 503); it may still have been applied, and every write script is
idempotent, so a retry is safe.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import redis
from redis.cluster import ClusterNode, RedisCluster
from redis.commands.core import Script
from redis.exceptions import (
    AskError,
    ClusterDownError,
    MovedError,
    NoScriptError,
    TryAgainError,
)

from service import pipelined_scripts
from service.pipelined_scripts import ScriptCall, queue_script
from service.topology import RedisClient

log = logging.getLogger(__name__)

DURABILITY = ("fsync", "replica", "none")
# How long a write waits for its disk (and replica) confirmation before it is refused (503).
WAIT_TIMEOUT_MS = 2000
# How long a cluster write keeps following redirections and failovers before it is refused.
CLUSTER_PATIENCE_SECONDS = 3.0


class WriteNotConfirmed(redis.RedisError):
    """Redis took the write but could not confirm the durability asked for in time."""


class DurableWrites:
    """Send write scripts with the wait the durability setting asks for."""

    def __init__(self, client: RedisClient, durability: str) -> None:
        if durability not in DURABILITY:
            raise ValueError(f"durability must be one of {', '.join(DURABILITY)}")
        self.client = client
        self.durability = durability
        # Chosen on the first write, from what the server can do (see `_choose_wait`).
        self._wait: tuple[Any, ...] | None = None
        self._chosen = durability == "none"

    def run(
        self,
        script: Script,
        keys: list[Any],
        args: list[Any],
        then: ScriptCall | None = None,
    ) -> Any:
        """Run `script` and wait as the durability asks; raise when it cannot be confirmed.
        `then`, a write of less weight (its keys in any slot), follows in the same round trip
        on one server, on its own on a cluster; whatever it answers, the write stands (a failure
        of it is only logged)."""
        if not self._chosen:
            self._choose_wait()
        if isinstance(self.client, RedisCluster):
            if self._wait is None:
                result = script(keys=keys, args=args)
            else:
                result = self._on_slot_owner(self.client, script, keys, args, self._wait)
            if then is not None:
                _follow_up(then.run)
            return result
        wait = self._wait

        def build(pipe: Any) -> None:
            queue_script(pipe, script, keys, args)
            if wait is not None:
                pipe.execute_command(*wait)
            if then is not None:
                queue_script(pipe, then.script, then.keys, then.args)

        scripts = [script, *([then.script] if then else [])]
        answers = pipelined_scripts.execute(self.client, scripts, build, raise_on_error=False)
        if then is not None:
            _follow_up(lambda: _raised(answers.pop()))
        if wait is None:
            return _raised(answers[0])
        result, waited = answers
        return _confirmed(result, waited, wait)

    def run_many(self, script: Script, calls: list[tuple[list[Any], list[Any]]]) -> list[Any]:
        """Run `script` once per (keys, args) in one pipeline on one server, then wait once for
        all of them; raise when any failed or the wait cannot be confirmed."""
        if isinstance(self.client, RedisCluster):
            raise TypeError("a cluster takes no scripts in a pipeline: run them one by one")
        if not self._chosen:
            self._choose_wait()
        wait = self._wait

        def build(pipe: Any) -> None:
            for keys, args in calls:
                queue_script(pipe, script, keys, args)
            if wait is not None:
                pipe.execute_command(*wait)

        answers = pipelined_scripts.execute(self.client, [script], build, raise_on_error=False)
        if self._wait is not None:
            waited = answers.pop()
            for answer in answers:
                _confirmed(answer, waited, self._wait)
        for answer in answers:
            if isinstance(answer, Exception):
                raise answer
        return list(answers)

    def _choose_wait(self) -> None:
        """Pick the wait command the server supports for the durability asked."""
        probe: Any = self.client
        if isinstance(self.client, RedisCluster):
            probe = self.client.get_redis_connection(self.client.get_random_primary_node())
        try:
            probe.execute_command("WAITAOF", 0, 0, 0)
            has_waitaof = True
        except redis.ResponseError:
            has_waitaof = False
        aof = bool(int(probe.info("persistence").get("aof_enabled", 0)))
        if has_waitaof and aof:
            self._wait = ("WAITAOF", 1, 1 if self.durability == "replica" else 0, WAIT_TIMEOUT_MS)
        elif self.durability == "replica":
            log.warning(
                "durability 'replica': this server has no %s; a write is confirmed once a "
                "replica has it in memory (WAIT 1)",
                "append-only file" if has_waitaof else "WAITAOF",
            )
            self._wait = ("WAIT", 1, WAIT_TIMEOUT_MS)
        else:
            log.warning(
                "durability 'fsync' is not available on this server (%s); writes are answered "
                "once in memory",
                "no append-only file" if has_waitaof else "no WAITAOF",
            )
            self._wait = None
        self._chosen = True

    @staticmethod
    def _on_slot_owner(
        client: RedisCluster,
        script: Script,
        keys: list[Any],
        args: list[Any],
        wait: tuple[Any, ...],
    ) -> Any:
        """Send the script and the wait on one connection to the primary owning the keys' slot,
        following MOVED, ASK and failovers for a few seconds."""
        deadline = time.monotonic() + CLUSTER_PATIENCE_SECONDS
        asking: ClusterNode | None = None
        while True:
            node, was_asking = asking or client.get_node_from_key(keys[0]), asking
            connection = client.get_redis_connection(node)
            pipe = connection.pipeline(transaction=False)
            if asking is not None:
                pipe.execute_command("ASKING")
            queue_script(pipe, script, keys, args)
            pipe.execute_command(*wait)
            asking = None
            result = waited = None
            try:
                *_, result, waited = pipe.execute(raise_on_error=False)
                failure = result if isinstance(result, redis.RedisError) else None
                if isinstance(failure, NoScriptError) and time.monotonic() < deadline:
                    # This primary has not seen the script yet (new, restarted or failed over).
                    connection.script_load(script.script)
                    asking = was_asking
                    continue
            except (redis.ConnectionError, redis.TimeoutError, ClusterDownError) as error:
                failure = error
            if isinstance(failure, AskError) and time.monotonic() < deadline:
                # The slot is moving and the keys are on the importing node already.
                asking = client.get_node(host=failure.host, port=failure.port)
                if asking is None:
                    client.nodes_manager.initialize()
                    asking = client.get_node(host=failure.host, port=failure.port)
                continue
            if not isinstance(
                failure,
                MovedError
                | TryAgainError
                | ClusterDownError
                | redis.ConnectionError
                | redis.TimeoutError,
            ):
                return _confirmed(result, waited, wait)
            if time.monotonic() >= deadline:
                raise failure
            time.sleep(0.05 if isinstance(failure, MovedError | TryAgainError) else 0.2)
            try:
                client.nodes_manager.initialize()
            except redis.RedisError:
                pass  # no node answers yet; the next attempt tries again


def _raised(answer: Any) -> Any:
    """Give a pipeline's answer, or raise it when it is an error."""
    if isinstance(answer, Exception):
        raise answer
    return answer


def _follow_up(step: Callable[[], Any]) -> None:
    """Run a write that follows another and must not undo it: a failure is logged only."""
    try:
        step()
    except redis.RedisError as error:
        log.warning("a write that follows a stored one failed (%s)", error)


def _confirmed(result: Any, waited: Any, wait: tuple[Any, ...]) -> Any:
    """Give the script's answer if the wait confirms it; raise what failed otherwise."""
    if isinstance(result, Exception):
        raise result
    if isinstance(waited, Exception):
        raise waited
    if wait[0] == "WAITAOF":
        local, replicas = int(waited[0]), int(waited[1])
        if local < wait[1] or replicas < wait[2]:
            raise WriteNotConfirmed("WAITAOF not confirmed")
    elif int(waited) < wait[1]:
        raise WriteNotConfirmed("WAIT not confirmed by a replica")
    return result
