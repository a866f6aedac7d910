"""The service's Flask class: Flask, less the per-request work that buys this service nothing."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from flask import Flask

from service.json_provider import OrjsonProvider


class ServiceFlask(Flask):
    """Flask with orjson for JSON, and each view's and hook's kind looked up once."""

    json_provider_class = OrjsonProvider

    def __init__(self, import_name: str, **kwargs: Any) -> None:
        super().__init__(import_name, **kwargs)
        self._is_coroutine: dict[Callable[..., Any], bool] = {}

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """Give `func` as is when it is synchronous, as Flask does.

        Flask asks `inspect` whether each hook and view is a coroutine function on every request,
        a dozen times a request here; the answer never changes, so it is kept per function (a
        method view's bound methods share their function's).
        """
        function = getattr(func, "__func__", func)
        is_coroutine = self._is_coroutine.get(function)
        if is_coroutine is None:
            is_coroutine = self._is_coroutine[function] = inspect.iscoroutinefunction(function)
        return super().ensure_sync(func) if is_coroutine else func
