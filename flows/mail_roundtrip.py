"""check-mail-roundtrip: prove the mail configuration works end to end (SMTP out, IMAP in)."""

from __future__ import annotations

from prefect import flow
from prefect.artifacts import create_markdown_artifact
from prefect.runtime import flow_run

from tasks.mail import load_mailbox, send_email, wait_for_message


@flow(name="check-mail-roundtrip", flow_run_name="mail-roundtrip-{mailbox}", log_prints=True)
def check_mail_roundtrip(
    mailbox: str = "hotel-desk", timeout_seconds: float = 60.0
) -> dict[str, object]:
    """Send a probe to `mailbox`'s own address over SMTP and read it back over IMAP."""
    run_id = str(flow_run.id or "local")
    address = load_mailbox(mailbox).address
    sent = send_email(
        key=f"mail-probe:{run_id}",
        to=[address],
        subject=f"[travelops] mail round trip {run_id[:8]}",
        text="Probe sent by check-mail-roundtrip. It can be deleted.",
    )
    received = wait_for_message(mailbox, str(sent["message_id"]), timeout_seconds)
    create_markdown_artifact(
        key="mail-roundtrip",
        markdown=(
            f"### Mail round trip\n\n| step | value |\n|---|---|\n"
            f"| mailbox | `{address}` |\n| message | `{sent['message_id']}` |\n"
            f"| seen over IMAP after | {received['seconds']} s |\n"
        ),
        description="SMTP → IMAP probe",
    )
    return {"mailbox": address, "message_id": sent["message_id"], "seconds": received["seconds"]}
