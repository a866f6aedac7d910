"""The real local servers the cluster and Sentinel tests stand on (tests/servers.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis
from redis.exceptions import RedisClusterException

from tests.servers import SLOTS, Cluster, SentinelSetup, Server, Standalone

pytest_plugins = ["tests.cluster_fixtures"]

PASSWORD = "standalone-test-password-0123456789"

CROSS_SLOT_SCRIPT = "return redis.call('MGET', KEYS[1], KEYS[2])"


def write_on_master_and_replica(master: Server, key: str, value: str) -> None:
    """Write a key on its master and wait until one replica has it."""
    with master.client() as client:
        client.set(key, value)
        assert client.execute_command("WAIT", 1, 5000) == 1


def test_three_masters_with_a_replica_each_come_up(three_master_cluster: Cluster) -> None:
    cluster = three_master_cluster
    masters, replicas = cluster.masters(), cluster.replicas()
    assert len(masters) == 3 and len(replicas) == 3
    # Each master has its own replica, and the slots are split evenly among the masters.
    assert sorted(len(cluster.replicas_of(master)) for master in masters) == [1, 1, 1]
    owners = cluster.view().slot_owners
    assert sum(last - first + 1 for first, last, _ in owners) == SLOTS
    assert {owner for _, _, owner in owners} == {master.node_id for master in masters}
    assert all(node.cluster_info()["cluster_state"] == "ok" for node in cluster.nodes)
    assert cluster.password
    assert cluster.url == f"redis+cluster://:{cluster.password}@" + ",".join(
        f"127.0.0.1:{node.port}" for node in cluster.nodes
    )
    # Every node wants the password.
    with cluster.nodes[0].client(password=None) as client, pytest.raises(redis.AuthenticationError):
        client.ping()


def test_a_key_lands_on_the_master_serving_its_slot(three_master_cluster: Cluster) -> None:
    cluster = three_master_cluster
    with cluster.client() as client:
        client.set("article:{42}:title", "Night of records")
        slot = client.keyslot("article:{42}:title")
    owner = cluster.master_for_slot(slot)
    assert owner.call("GET", "article:{42}:title") == "Night of records"
    for other in cluster.masters():
        if other is not owner:
            with pytest.raises(redis.exceptions.MovedError) as refused:
                other.call("GET", "article:{42}:title")
            assert str(refused.value) == f"{slot} 127.0.0.1:{owner.port}"


def test_a_script_over_two_slots_is_refused(
    three_master_cluster: Cluster, one_node_cluster: Cluster
) -> None:
    with three_master_cluster.client() as client:
        with pytest.raises(RedisClusterException, match="same key slot"):
            client.eval(CROSS_SLOT_SCRIPT, 2, "{a}:x", "{b}:x")
        assert client.eval(CROSS_SLOT_SCRIPT, 2, "{a}:x", "{a}:y") == [None, None]
    # The server refuses it too, even when one node holds both slots.
    (node,) = one_node_cluster.nodes
    with pytest.raises(redis.ResponseError, match="don't hash to the same slot"):
        node.call("EVAL", CROSS_SLOT_SCRIPT, 2, "{a}:x", "{b}:x")
    assert one_node_cluster.url == f"redis+cluster://127.0.0.1:{node.port}"


def test_a_killed_master_is_replaced_by_its_replica(three_master_cluster: Cluster) -> None:
    cluster = three_master_cluster
    with cluster.client() as client:
        slot = client.keyslot("{failover}:key")
    old_master = cluster.master_for_slot(slot)
    (replica,) = cluster.replicas_of(old_master)
    write_on_master_and_replica(old_master, "{failover}:key", "kept")
    try:
        cluster.kill(old_master)
        new_master = cluster.wait_for_promotion(old_master)
        assert new_master is replica
        assert cluster.master_for_slot(slot) is new_master
        assert new_master.call("GET", "{failover}:key") == "kept"
        with cluster.client() as client:
            client.set("{failover}:after", "written")
        assert new_master.call("GET", "{failover}:after") == "written"
    finally:
        cluster.heal()
    # The old master came back as a replica of the one that replaced it.
    assert old_master.current_role() == "slave"
    assert cluster.replicas_of(replica) == [old_master]


def test_a_moved_slot_keeps_its_keys(three_master_cluster: Cluster) -> None:
    cluster = three_master_cluster
    with cluster.client() as client:
        keys = [f"{{moving}}:{index}" for index in range(250)]
        client.mset_nonatomic({key: key for key in keys})
        slot = client.keyslot(keys[0])
        source = cluster.master_for_slot(slot)
        target = next(master for master in cluster.masters() if master is not source)

        assert cluster.move_slot(slot, target) == len(keys)

        assert cluster.master_for_slot(slot) is target
        assert target.call("CLUSTER", "COUNTKEYSINSLOT", slot) == len(keys)
        assert source.call("CLUSTER", "COUNTKEYSINSLOT", slot) == 0
        assert client.mget_nonatomic(keys) == keys


def test_sentinels_promote_the_replica_when_the_primary_dies(
    sentinel_setup: SentinelSetup,
) -> None:
    setup = sentinel_setup
    assert setup.url.endswith(f"/{setup.service_name}")
    sentinel = setup.sentinel_client()
    primary = sentinel.master_for(setup.service_name)  # type: ignore[no-untyped-call]
    write_on_master_and_replica(setup.primary, "comment:1", "acknowledged")

    assert setup.kill_primary() is setup.primary
    address = setup.wait_for_failover()

    assert address == ("127.0.0.1", setup.replica.port)
    assert setup.replica.current_role() == "master"
    # A client that asks the sentinels follows the new primary by itself.
    assert primary.get("comment:1") == "acknowledged"
    assert primary.set("comment:2", "after the failover")
    assert setup.replica.call("GET", "comment:2") == "after the failover"
    primary.close()


def test_a_standalone_server_needs_its_password(tmp_path: Path) -> None:
    with Standalone(tmp_path, password=PASSWORD) as server:
        with redis.Redis.from_url(server.url, decode_responses=True) as client:
            assert client.set("key", "value")
            assert client.config_get("appendonly") == {"appendonly": "yes"}
        with server.server.client(password=None) as client:
            with pytest.raises(redis.AuthenticationError):
                client.get("key")
    assert not server.server.is_running()
