"""Prefect's settings for a forked flow run: built once in the fork server, not twice per run.

Each flow run the worker starts builds Prefect's `Settings` twice in its own process: once from
its environment (`run_flow_in_subprocess`'s child wrapper), once from the worker's serialised
settings context (`hydrated_context` validates the dict into a new `Settings`). Each build reads
~400 settings from the environment, `.env`, `prefect.toml`, `pyproject.toml` and the profiles
file: measured with py-spy under `travelops bench hotel-vcc`, a third of a hotel run's CPU.

- The worker leaves the copy in the serialised context out when the environment it gives the
  run says the same (`without_settings_context`).
- The fork server builds `Settings()` once (`build_settings_for_runs`); a run forked from it gets
  that object when its Prefect environment says the same — every variable as in the fork server,
  or added with the value the settings already have — and the files it reads are unchanged.
  Otherwise it builds its own, as before.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from prefect.settings.models.root import Settings


def _prefect_environment() -> dict[str, str]:
    """The variables a `Settings()` reads (`PREFECT__…` are engine flags, not settings)."""
    return {k: v for k, v in os.environ.items() if k.startswith("PREFECT_") and k[8:9] != "_"}


def _same(value: str | None, other: str | None) -> bool:
    """Two environment values that a `Settings()` reads alike (`True`/`true`)."""
    if value is None or other is None:
        return value is other
    return value == other or (value.lower() in ("true", "false") and value.lower() == other.lower())


def _files(settings: Settings) -> tuple[tuple[str, float | None], ...]:
    """The files a `Settings()` reads besides the environment, with their modification times."""
    cwd = Path.cwd()
    paths = [cwd / ".env", cwd / "prefect.toml", cwd / "pyproject.toml", settings.profiles_path]
    out = []
    for path in paths:
        try:
            out.append((str(path), path.stat().st_mtime))
        except OSError:
            out.append((str(path), None))
    return tuple(out)


class SettingsOnce:
    """One `Settings()` and what it was built from; handed out again while that still holds."""

    def __init__(self) -> None:
        self.settings = Settings()
        self.environment = _prefect_environment()
        self.as_environment = self.settings.to_environment_variables(exclude_unset=False)
        self.files = _files(self.settings)
        self.reused = 0

    def still_holds(self) -> bool:
        now = _prefect_environment()
        for key in self.environment.keys() | now.keys():
            value = now.get(key)
            if _same(value, self.environment.get(key)):
                continue
            if value is None or not _same(self.as_environment.get(key), value):
                return False  # removed, or set to something the settings do not have
        return _files(self.settings) == self.files

    def get(self) -> Settings:
        """The kept object while a `Settings()` would read the same, else a new one."""
        if not self.still_holds():
            return Settings()
        self.reused += 1
        return self.settings


#: Built in the fork server (`build_settings_for_runs`); None elsewhere.
_BUILT: SettingsOnce | None = None


def build_settings_for_runs() -> SettingsOnce:
    """In the fork server: build `Settings()` now, for every run forked from it."""
    global _BUILT  # one per process, built before the first fork
    if _BUILT is None:
        _BUILT = SettingsOnce()
    return _BUILT


def settings_for_run(*args: Any, **kwargs: Any) -> Settings:
    """`Settings(...)` in a run's child wrapper: the fork server's object when it still holds."""
    if args or kwargs or _BUILT is None:
        return Settings(*args, **kwargs)
    return _BUILT.get()


def reuse_settings_in_runs() -> None:
    """In the worker: runs get `settings_for_run` where they called `Settings()`.

    The child wrapper is a closure that cloudpickle sends by value with the globals it names, as
    they are in the worker when the run starts; this module-level function goes by reference
    and is looked up in the child, which was forked from the fork server that built the settings.
    """
    import prefect.flow_engine as engine

    engine.Settings = settings_for_run  # type: ignore[misc,assignment]


def without_settings_context(context: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """A run's serialised context without its settings when the environment carries them.

    The runner sends a run its settings twice: as environment variables (every setting set in
    the worker, then the worker's own environment over them) and in the serialised context, which
    the child validates into a second `Settings`. When the environment says the same for every
    setting set in the worker, the copy in the context adds nothing and is left out; the child
    then reads its settings from the environment alone (`settings_for_run`).
    """
    declared = settings.to_environment_variables(exclude_unset=True)
    if not all(_same(os.environ.get(key, value), value) for key, value in declared.items()):
        return context  # the environment says otherwise: the context's copy decides, as before
    return {**context, "settings_context": {}}
