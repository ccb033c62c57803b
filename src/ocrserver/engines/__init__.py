"""Engine plugins, found through the ``ocrserver.engines`` entry-point group.

A third-party package adds an engine by declaring, in its pyproject::

    [project.entry-points."ocrserver.engines"]
    myengine = "mypackage.engine:MyEngine"
"""

from __future__ import annotations

import logging
from importlib.metadata import entry_points

from ocrserver.engines.base import Engine, EngineInfo

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "ocrserver.engines"


def discover_engines() -> dict[str, type[Engine]]:
    """Every installed engine class by name. A plugin that fails to import is logged and skipped."""
    found: dict[str, type[Engine]] = {}
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        try:
            engine_class = entry.load()
        except Exception as exc:  # a broken plugin must not take the server down
            log.warning("engine plugin %s could not be loaded: %s", entry.name, exc)
            continue
        found[entry.name] = engine_class
    return found


__all__ = ["Engine", "EngineInfo", "discover_engines", "ENTRY_POINT_GROUP"]
