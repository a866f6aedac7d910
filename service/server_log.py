"""Gunicorn's own log, with a client's network instead of its full address.

Gunicorn writes "Invalid request from ip=203.0.113.7: …" for a malformed request; the service
never logs a reader's full IP, so its logger keeps only the /24 or /48, as the request log does.
With reuse_port each worker binds its own socket, and gunicorn's "Listening at:" line would
name no address: the logger names the configured one. Set in config/gunicorn.conf.py.
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


def bound_addresses(addresses: list[Any]) -> str:
    """Name gunicorn's bind addresses as it does: http://host:port, unix:path."""
    names = []
    for address in addresses:
        if isinstance(address, tuple):
            host = f"[{address[0]}]" if ":" in str(address[0]) else address[0]
            names.append(f"http://{host}:{address[1]}")
        else:
            names.append(f"unix:{address}")
    return ",".join(names)


class _ServiceLogFilter(logging.Filter):
    def __init__(self) -> None:
        super().__init__()
        self.listening_at = ""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if record.msg == LISTENING_AT and isinstance(args, tuple) and args and not args[0]:
            record.args = (self.listening_at, *args[1:])
        message = record.getMessage()
        redacted = redact_client_addresses(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


LISTENING_AT = "Listening at: %s (%s)"


class GunicornLogger(Logger):  # type: ignore[misc]
    """Gunicorn's logger: a client's network only, and the address it listens at."""

    def setup(self, cfg: Any) -> None:
        """Set up gunicorn's logs, then filter the error log."""
        super().setup(cfg)
        service_filter = _ServiceLogFilter()
        service_filter.listening_at = bound_addresses(list(cfg.address))
        for old in list(self.error_log.filters):
            if isinstance(old, _ServiceLogFilter):
                self.error_log.removeFilter(old)
        self.error_log.addFilter(service_filter)
