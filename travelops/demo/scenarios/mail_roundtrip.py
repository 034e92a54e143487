"""Foundation scenario: a flow sends an e-mail over SMTP and reads it back over IMAP."""

from __future__ import annotations

from prefect.deployments import run_deployment

from travelops.demo import DemoContext, Scenario, ScenarioResult


def run(ctx: DemoContext) -> ScenarioResult:
    flow_run = run_deployment(
        "check-mail-roundtrip/check-mail-roundtrip",
        parameters={"mailbox": "hotel-desk", "timeout_seconds": 30},
        timeout=120,
    )
    state = flow_run.state
    ok = bool(state and state.is_completed())
    result = state.result(raise_on_failure=False) if state else None  # type: ignore[union-attr]
    return ScenarioResult(
        ok=ok,
        statuses={flow_run.name: state.name if state else "unknown"},
        counts={"emails_sent": 1 if ok else 0, "emails_read_back": 1 if ok else 0},
        details=result if isinstance(result, dict) else {"result": repr(result)},
        error=None if ok else (state.message if state else "no state"),
    )


SCENARIO = Scenario(
    name="mail-roundtrip",
    description="check-mail-roundtrip: SMTP out, IMAP in, through a served deployment",
    run=run,
)
