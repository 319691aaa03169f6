"""Channel wirings: each module here plugs one channel into the service (discovered by name).

A wiring module is named after its channel and defines `WIRING`, an object with the
`ChannelWiring` shape (bot.wiring.base). Modules with an underscore in their name are the
wirings' helpers: they are not imported to look for one (some pull in heavy client libraries).
"""

from __future__ import annotations

import importlib
import pkgutil

from bot.wiring.base import ChannelWiring


def all_wirings() -> list[ChannelWiring]:
    """Every channel wiring shipped in this package, in a stable order."""
    wirings: list[ChannelWiring] = []
    for module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if module.name == "base" or "_" in module.name:
            continue
        loaded = importlib.import_module(f"{__name__}.{module.name}")
        wiring = getattr(loaded, "WIRING", None)
        if wiring is not None:
            wirings.append(wiring)
    return wirings
