"""Forked runs reuse the fork server's Prefect settings while their environment says the same."""

from __future__ import annotations

import os
import pickle
import time
from pathlib import Path
from typing import Any

import cloudpickle
import prefect.flow_engine as engine
import pytest
from prefect.context import serialize_context
from prefect.settings import PREFECT_API_URL, get_current_settings, temporary_settings
from prefect.settings.models.root import Settings

from travelops import run_settings
from travelops.run_settings import (
    SettingsOnce,
    build_settings_for_runs,
    reuse_settings_in_runs,
    settings_for_run,
    without_settings_context,
)


@pytest.fixture
def profiles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A profiles file of this test's own, so that touching it changes nothing else."""
    path = tmp_path / "profiles.toml"
    path.write_text('active = "default"\n\n[profiles.default]\n')
    monkeypatch.setenv("PREFECT_PROFILES_PATH", str(path))
    return path


@pytest.fixture
def built(profiles: Path, monkeypatch: pytest.MonkeyPatch) -> SettingsOnce:
    monkeypatch.setattr(run_settings, "_BUILT", None)
    return build_settings_for_runs()


def test_same_environment_gets_the_same_settings_object(built: SettingsOnce) -> None:
    assert settings_for_run() is built.settings
    assert settings_for_run() is built.settings
    assert built.reused == 2


def test_a_variable_added_with_the_value_the_settings_have_keeps_them(
    built: SettingsOnce, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As the runner adds the worker's settings to a run's environment ('True' or 'true' alike).
    value = built.as_environment["PREFECT_RESULTS_PERSIST_BY_DEFAULT"]
    monkeypatch.setenv("PREFECT_RESULTS_PERSIST_BY_DEFAULT", value.lower())
    monkeypatch.setenv("PREFECT__FLOW_RUN_ID", "an engine flag, not a setting")
    assert settings_for_run() is built.settings


def test_a_changed_or_removed_variable_builds_new_settings(
    built: SettingsOnce, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")
    changed = settings_for_run()
    assert changed is not built.settings
    assert str(changed.api.url) == "http://127.0.0.1:9/api"
    monkeypatch.delenv("PREFECT_API_URL")
    monkeypatch.delenv("PREFECT_PROFILES_PATH")
    assert settings_for_run() is not built.settings


def test_a_changed_profiles_file_builds_new_settings(built: SettingsOnce, profiles: Path) -> None:
    later = time.time() + 5
    os.utime(profiles, (later, later))
    assert settings_for_run() is not built.settings


def test_without_the_fork_server_or_with_arguments_settings_are_built(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(run_settings, "_BUILT", None)
    assert settings_for_run() is not settings_for_run()
    once = build_settings_for_runs()
    assert settings_for_run(home=str(Path.cwd())) is not once.settings


def test_the_context_copy_is_left_out_only_when_the_environment_says_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = get_current_settings()
    context = serialize_context()
    assert without_settings_context(context, settings)["settings_context"] == {}
    with temporary_settings(updates={PREFECT_API_URL: "http://127.0.0.1:9/api"}):
        other = get_current_settings()
        # Not in the worker's environment: the runner's environment for the run carries it.
        assert without_settings_context(serialize_context(), other)["settings_context"] == {}
        monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:8/api")  # says otherwise
        kept = without_settings_context(serialize_context(), other)
    assert kept["settings_context"]["settings"]["api"]["url"] == "http://127.0.0.1:9/api"


def test_a_run_started_by_the_worker_looks_up_settings_for_run_in_its_child(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The child wrapper travels by value with its globals; `Settings` must be ours by name."""
    captured: dict[str, Any] = {}

    def capture(fn: Any, **kwargs: Any) -> Any:
        captured["fn"] = fn
        return type("Wrapped", (), {"args": (b"",)})()

    class NoProcess:
        def __init__(self, **kwargs: Any) -> None: ...

        def start(self) -> None: ...

    monkeypatch.setattr(engine, "cloudpickle_wrapped_call", capture)
    monkeypatch.setattr(engine, "Settings", Settings)
    spawn = type("Spawn", (), {"Process": NoProcess})
    monkeypatch.setattr(
        engine, "multiprocessing", type("M", (), {"get_context": staticmethod(lambda _m: spawn)})
    )
    reuse_settings_in_runs()
    engine.run_flow_in_subprocess(object(), context={})  # type: ignore[arg-type]
    child = pickle.loads(cloudpickle.dumps(captured["fn"]))  # noqa: S301 - our own bytes
    assert child.__globals__["Settings"] is settings_for_run
