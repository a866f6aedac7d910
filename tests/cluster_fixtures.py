"""Pytest fixtures of real local clusters and Sentinel set-ups (see tests/servers.py).

Register with `pytest_plugins = ["tests.cluster_fixtures"]`. The servers run the project's
valkey-server; no Docker.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import Cluster, SentinelSetup

# The password of the three-master cluster and of the Sentinel set-up, as deployed: the URLs
# carry it, and every node (and sentinel) refuses a client without it.
PASSWORD = "cluster-test-password-0123456789"


@pytest.fixture(scope="session")
def one_node_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A one-node cluster (all 16384 slots on one server, no password): enough to catch every
    cross-slot mistake. Shared by the whole run: never kill it."""
    with Cluster(tmp_path_factory.mktemp("one-node-cluster"), masters=1) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def three_master_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Three masters with one replica each, password `PASSWORD`, shared by a module's tests.

    A test that kills a node calls `cluster.heal()` before it ends (the killed nodes come back as
    replicas, so masters and replicas may have swapped: ask `cluster.masters()`)."""
    directory = tmp_path_factory.mktemp("three-master-cluster")
    with Cluster(directory, masters=3, replicas=1, password=PASSWORD) as cluster:
        yield cluster


@pytest.fixture
def sentinel_setup(tmp_path: Path) -> Iterator[SentinelSetup]:
    """One primary, one replica and three sentinels, password `PASSWORD`, fresh for each test
    (a failover cannot be undone); starts in a fraction of a second."""
    with SentinelSetup(tmp_path / "sentinel", password=PASSWORD) as setup:
        yield setup
