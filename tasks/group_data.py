"""Reference data of the group process (products, options, prices, supply) from data/."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from domain.group import Catalog
from travelops.settings_group import group_settings


@lru_cache(maxsize=4)
def _load(data_dir: Path) -> Catalog:
    def read(name: str) -> dict[str, object]:
        return dict(json.loads((data_dir / name).read_text(encoding="utf-8")))

    return Catalog.from_dicts(
        read("group_catalog.json"), read("group_prices.json"), read("group_supply.json")
    )


def load_catalog(data_dir: Path | None = None) -> Catalog:
    """The catalog as the data files say now (cached per folder; `reload_catalog` forgets it)."""
    return _load(data_dir or group_settings().data_dir)


def reload_catalog() -> None:
    _load.cache_clear()
