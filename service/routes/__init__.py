"""HTTP routes, one blueprint per resource, and the accessor views reach the use cases by."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import current_app

if TYPE_CHECKING:
    from service import Services


def services() -> Services:
    """Give the current app's use cases and store."""
    from service import EXTENSION

    found: Services = current_app.extensions[EXTENSION]
    return found
