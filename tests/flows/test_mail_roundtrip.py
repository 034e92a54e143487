"""check-mail-roundtrip runs for real: in-process and through its served deployment."""

from __future__ import annotations

import pytest
from prefect.deployments import run_deployment

from flows.mail_roundtrip import check_mail_roundtrip
from tests import runs


def test_flow_sends_over_smtp_and_reads_back_over_imap(prefect_api: str) -> None:
    result = check_mail_roundtrip(mailbox="hotel-desk", timeout_seconds=20)
    assert result["mailbox"] == "hoteldesk@travelops.example.com"
    assert float(result["seconds"]) < 20  # type: ignore[arg-type]


@pytest.mark.slow
def test_served_deployment_completes(served: str) -> None:
    run = run_deployment("check-mail-roundtrip/check-mail-roundtrip", timeout=120)
    assert run.state is not None
    assert run.state.is_completed(), run.state
    assert "mail-roundtrip" in [a["key"] for a in runs.artifacts(run.id)]
