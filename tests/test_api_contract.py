"""Schemathesis against /openapi.json, under gunicorn: no 5xx, and answers match the document."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import MODERATOR_TOKENS


def test_every_operation_keeps_its_documented_contract(live_server: str) -> None:
    schemathesis = Path(sys.executable).parent / "schemathesis"
    assert schemathesis.exists(), "schemathesis comes with the dev extras"
    result = subprocess.run(
        [
            str(schemathesis),
            "run",
            f"{live_server}/openapi.json",
            "--checks",
            "not_a_server_error,response_schema_conformance",
            "--max-examples",
            "8",
            "--seed",
            "20261128",
            "-H",
            f"Authorization: Bearer {MODERATOR_TOKENS['alice']}",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:]
    assert " passed" in result.stdout
