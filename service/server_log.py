"""Gunicorn's own log, with a client's network instead of its full address.

Gunicorn writes "Invalid request from ip=203.0.113.7: …" for a malformed request; the service
never logs a reader's full IP, so its logger keeps only the /24 or /48, as the request log does.
Set in config/gunicorn.conf.py (`logger_class`).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from gunicorn.glogging import Logger

from service.observability import client_network

_CLIENT_ADDRESS = re.compile(r"\bip=(\[[0-9A-Fa-f:.]+\]|[0-9A-Fa-f:.]+)")


def _network_of(found: re.Match[str]) -> str:
    address = found.group(1)
    if address.startswith("["):
        return f"ip={client_network(address.strip('[]')) or 'unknown'}"
    # "ip=2001:db8::5: error": the colon after the address is the message's own.
    rest = ""
    while address and not client_network(address) and address.endswith(":"):
        address, rest = address[:-1], ":" + rest
    return f"ip={client_network(address) or 'unknown'}{rest}"


def redact_client_addresses(message: str) -> str:
    """Replace each `ip=<address>` in a message by `ip=<its network>`."""
    return _CLIENT_ADDRESS.sub(_network_of, message)


class _RedactClientAddresses(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_client_addresses(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


_REDACT = _RedactClientAddresses()


class GunicornLogger(Logger):  # type: ignore[misc]
    """Gunicorn's logger, keeping only the network of a client named in its error log."""

    def setup(self, cfg: Any) -> None:
        """Set up gunicorn's logs, then filter the error log."""
        super().setup(cfg)
        self.error_log.addFilter(_REDACT)
