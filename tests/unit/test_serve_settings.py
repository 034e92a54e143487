"""The worker serialises its Prefect settings once, not for every run it starts."""

from __future__ import annotations

from typing import Any

import prefect.runner._starter_direct as starter
import pytest
from prefect.context import serialize_context
from prefect.settings import PREFECT_API_URL, get_current_settings, temporary_settings
from prefect.settings.models.root import Settings

from travelops.serve import serialize_settings_once


@pytest.fixture
def starts(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """What `run_flow_in_subprocess` is given, with the patch applied (and undone after)."""
    seen: list[dict[str, Any]] = []

    def record(flow: Any, flow_run: Any, parameters: Any, wait_for: Any, context: Any, env: Any):
        seen.append(context)

    monkeypatch.setattr(starter, "run_flow_in_subprocess", record)
    monkeypatch.setattr(Settings, "to_environment_variables", Settings.to_environment_variables)
    serialize_settings_once()
    return seen


def test_runs_started_with_the_same_settings_share_one_serialised_context(
    starts: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    for _ in range(3):
        starter.run_flow_in_subprocess(object())
    assert starts[0] is starts[1] is starts[2]
    assert starts[0] == {**serialize_context(), "settings_context": {}}  # the env carries them
    with temporary_settings(updates={PREFECT_API_URL: "http://127.0.0.1:9/api"}):
        monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:8/api")  # the context's copy counts
        starter.run_flow_in_subprocess(object())  # new settings: serialised afresh
    assert starts[3] is not starts[0]
    assert starts[3]["settings_context"]["settings"]["api"]["url"] == "http://127.0.0.1:9/api"


def test_settings_as_environment_variables_follow_the_settings_object(
    starts: list[dict[str, Any]],
) -> None:
    settings = get_current_settings()
    first = settings.to_environment_variables(exclude_unset=True)
    first["PREFECT_API_URL"] = "changed by a caller"  # a copy: the kept one is not changed
    again = settings.to_environment_variables(exclude_unset=True)
    assert again != first
    other = settings.copy_with_update(updates={PREFECT_API_URL: "http://127.0.0.1:9/api"})
    assert other.to_environment_variables(exclude_unset=True)["PREFECT_API_URL"] == (
        "http://127.0.0.1:9/api"
    )


def test_the_runner_starts_a_claimed_run_without_a_second_pending_state(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import prefect.runner._scheduled_run_poller as poller

    from travelops.serve import start_runs_from_pending

    monkeypatch.setattr(poller, "FlowRunExecutor", poller.FlowRunExecutor)
    start_runs_from_pending()
    start_runs_from_pending()  # once is enough: not wrapped twice
    made = poller.FlowRunExecutor(
        flow_run=object(),
        starter=object(),
        process_manager=object(),
        state_proposer=object(),
        hook_runner=object(),
        get_attempt_conclusion=lambda _id: None,
    )
    assert made._propose_submitting is False
