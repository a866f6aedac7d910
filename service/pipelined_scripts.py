"""Send Lua scripts inside a pipeline without an extra round trip.

redis-py sends `SCRIPT EXISTS` before every pipeline that holds a script, one round trip more
each time. Here a script rides in a pipeline as a bare `EVALSHA`; in the rare case the server
does not have it (restarted, or its scripts flushed), the answer is `NOSCRIPT`, the script is
loaded and the pipeline is sent again. Only pipelines that are safe to send twice use this: reads,
and write scripts that are idempotent (see `service.durability`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from redis.commands.core import Script
from redis.exceptions import NoScriptError

# What builds a pipeline's commands, given a fresh pipeline.
Build = Callable[[Any], None]


def queue_script(pipe: Any, script: Script, keys: Sequence[Any], args: Sequence[Any]) -> None:
    """Add a call of `script` to `pipe` by its SHA alone."""
    pipe.execute_command("EVALSHA", script.sha, len(keys), *keys, *args)


def execute(
    client: Any, scripts: Sequence[Script], build: Build, *, raise_on_error: bool = True
) -> list[Any]:
    """Build and send one pipeline on `client` (one server: a cluster takes no scripts in a
    pipeline); when a script in it was missing on the server, load `scripts` there and send the
    pipeline once more. Errors are raised (the first one) or, with `raise_on_error=False`, left
    in the answers."""
    answers: list[Any] = []
    for attempt in range(2):
        pipe = client.pipeline(transaction=False)
        build(pipe)
        answers = pipe.execute(raise_on_error=False)
        if attempt == 0 and any(isinstance(answer, NoScriptError) for answer in answers):
            for script in scripts:
                client.script_load(script.script)
            continue
        break
    if raise_on_error:
        for answer in answers:
            if isinstance(answer, Exception):
                raise answer
    return answers


@dataclass(frozen=True)
class ScriptCall:
    """One call of a read-only script, which may ride in another read's pipeline."""

    script: Script
    keys: list[Any]
    args: list[Any]

    def run(self) -> Any:
        """Call the script on its own."""
        return self.script(keys=self.keys, args=self.args)
