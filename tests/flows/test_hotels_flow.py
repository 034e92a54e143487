"""issue-hotel-vcc for real: served deployment, sandbox hotels, issuer and chat, watcher passes.

Several bookings run at once (one per hotel type); the test plays the 5-minute schedule of
`watch-hotel-mailbox` by running a pass every second until every run has finished.
"""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Callable
from typing import Any
from uuid import UUID

import httpx
import pymupdf
import pypdf
import pytest
from prefect.deployments import run_deployment
from prefect.flow_runs import resume_flow_run
from sqlalchemy import select

from db.audit import history
from db.models.hotels import HotelBooking, VirtualCard
from db.session import session_scope
from domain.hotels import contains_amount
from flows.hotels import report_open_hotel_bookings, watch_hotel_mailbox
from tasks.hotels import register_booking
from tasks.hotels_voucher import load_chat
from tasks.hotels_watch import chase_hotels, poll_charges, read_replies, wake_runs
from tests import runs
from tests.fixtures.group import pg_payments
from tests.fixtures.hotels import hotel_booking, refund_lines, traveller_paid
from travelops.cardsafety import card_vault

DEPLOYMENT = "issue-hotel-vcc/issue-hotel-vcc"


def _start(doc: dict[str, Any]) -> str:
    run = run_deployment(DEPLOYMENT, parameters={"booking": doc}, timeout=0,
                         idempotency_key=doc["booking_no"])  # fmt: skip
    return str(run.id)


def _behave(sandbox: dict[str, Any], key: str, **cfg: Any) -> None:
    url = sandbox["services"]["hotels"]["url"]
    httpx.post(f"{url}/behaviour", json={"key": key, **cfg}).raise_for_status()


def _state(run_id: str) -> str:
    run = runs.flow_run(run_id)
    return run.state.name if run.state else "?"


def _status(booking_no: str) -> HotelBooking:
    with session_scope() as s:
        b = s.get(HotelBooking, booking_no)
        assert b is not None
        return b


def _cards_at_issuer(sandbox: dict[str, Any], booking_no: str) -> int:
    url = sandbox["services"]["card-issuer"]["url"]
    return len(httpx.get(f"{url}/_sandbox/cards", params={"booking_reference": booking_no}).json())


def _states(run_id: str) -> list[Any]:
    """Every state the run has been in, oldest first (the API's state history)."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return sorted(client.read_flow_run_states(UUID(run_id)), key=lambda st: st.timestamp)


def _history(run_id: str) -> set[str]:
    """The names of every state the run has been in."""
    return {st.name for st in _states(run_id) if st.name}


def _pass() -> list[Any]:
    """One watcher pass without the flow-run overhead (the flow itself is run once below)."""
    return [read_replies.fn(), chase_hotels.fn(), poll_charges.fn(), wake_runs.fn()]


FINISHED = {"Completed", "Failed", "Crashed", "Cancelled"}


def _drive(
    run_ids: dict[str, str],
    react: Callable[[dict[str, str]], None],
    done: Callable[[dict[str, str], dict[str, set[str]]], bool],
    timeout: float,
) -> tuple[dict[str, str], dict[str, set[str]], list[Any]]:
    """Play the watcher's schedule (a pass every half second) until `done(states, seen)`;
    `react(states)` plays ops and the hotels in between. Returns the last states, every state
    each run was seen in, and the passes."""
    deadline = time.monotonic() + timeout
    seen: dict[str, set[str]] = {name: set() for name in run_ids}
    states: dict[str, str] = {}
    passes: list[Any] = []
    while time.monotonic() < deadline:
        passes.append(_pass())
        states = {name: _state(rid) for name, rid in run_ids.items()}
        for name, st in states.items():
            seen[name].add(st)
        react(states)
        if done(states, seen):
            break
        time.sleep(0.5)
    return states, seen, passes


@pytest.mark.slow
def test_plain_declined_and_unanswered_bookings_end_to_end(
    served: str, sandbox: dict[str, Any]
) -> None:
    stamp = f"{int(time.time() * 1000) % 1_000_000:06d}"
    nos = {name: f"BK-2026112{i}-{stamp}" for i, name in enumerate(
        ["plain", "declined", "silent", "late"])}  # fmt: skip
    fast = {"delay_seconds": 0.3, "charge_delay_seconds": 0.3}
    _behave(sandbox, nos["plain"], style="en_quoted", **fast)
    _behave(sandbox, nos["declined"], mode="decline", style="ko", **fast)
    _behave(sandbox, nos["silent"], mode="silent", **fast)
    # answers only after the reminder, and then 30 s late: after the limit, before ops decide
    _behave(sandbox, nos["late"], mode="slow", delay_seconds=30, charge_delay_seconds=0.3)
    docs = {
        "plain": hotel_booking(nos["plain"]),
        "declined": hotel_booking(nos["declined"], hotel_code="KOA-SNS", room_type="KNG",
                                  paid_amount="833000"),  # 597 USD
        "silent": hotel_booking(nos["silent"]),
        "late": hotel_booking(nos["late"]),
    }  # fmt: skip
    bad = hotel_booking(f"BK-20261129-{stamp}", check_out="2027-03-09")
    run_ids = {name: _start(doc) for name, doc in docs.items()}
    bad_run = _start(bad)

    ops_decided = False

    def react(states: dict[str, str]) -> None:
        nonlocal ops_decided
        if not ops_decided and states["silent"] == "AwaitingOpsDecision":
            decision = {"action": "confirm", "confirmation_no": "OPS-7781"}
            resume_flow_run(UUID(run_ids["silent"]), run_input=decision)
            ops_decided = True

    def done(states: dict[str, str], seen: dict[str, set[str]]) -> bool:
        # the unanswered booking is followed until it waits for the charge (card sent after the
        # ops decision); its last resume adds nothing the plain booking does not already show
        return (
            all(states[n] in FINISHED for n in ("plain", "declined"))
            and bool(seen["silent"] & {"AwaitingCharge", "Completed"})
            and bool(seen["late"] & {"AwaitingCharge", "Completed"})
        )

    states, seen_states, passes = _drive(run_ids, react, done, timeout=200)
    assert states["plain"] == states["declined"] == "Completed", (states, seen_states, passes[-3:])

    assert {"AwaitingHotelReply", "AwaitingCharge"} <= _history(run_ids["plain"])
    assert "AwaitingOpsDecision" in seen_states["silent"]
    # the late reply settled the ops decision by itself: the hotel's number, one card
    assert "AwaitingOpsDecision" in seen_states["late"]
    late = _status(nos["late"])
    assert late.confirmation_no
    assert not late.confirmation_no.startswith("OPS")
    assert late.status in ("awaiting_charge", "completed")
    assert _cards_at_issuer(sandbox, nos["late"]) == 1
    del nos["late"]
    final = {name: _status(no).status for name, no in nos.items()}  # silent: voucher missing
    reasons = {name: _status(no).status_reason for name, no in nos.items()}
    assert final == {"plain": "completed", "declined": "sold_out",
                     "silent": "needs_review"}, reasons  # fmt: skip
    assert _state(bad_run) == "Failed"
    assert "check_out" in (runs.flow_run(bad_run).state.message or "")  # type: ignore[union-attr]

    # exactly one card per booking that got one, none for the declined one
    cards = {name: _cards_at_issuer(sandbox, no) for name, no in nos.items()}
    assert cards == {"plain": 1, "declined": 0, "silent": 1}
    with session_scope() as s:
        plain = s.get(HotelBooking, nos["plain"])
        assert plain is not None
        assert plain.confirmation_no
        assert plain.supply_cost_krw == 753_570
        trail = [(t.from_status, t.to_status) for t in history(s, "hotel_bookings", nos["plain"])
                 if t.accepted]  # fmt: skip
        card = s.scalar(select(VirtualCard).where(VirtualCard.booking_no == nos["plain"]))
        assert card is not None
        assert (card.charged_minor, card.status) == (54000, "charged")
        pan = card_vault().decrypt(card.pan_encrypted)
    assert trail == [("received", "confirming"), ("confirming", "awaiting_charge"),
                     ("awaiting_charge", "completed")]  # fmt: skip
    silent = _status(nos["silent"])
    assert silent.confirmation_no == "OPS-7781"
    assert "voucher" in silent.status_reason

    # the traveller's voucher: stamped, and no amount extractable by either library
    chat = load_chat()
    msg = chat.find_message(f"hotel-{nos['plain'].lower()}", f"hotel-vcc:{nos['plain']}:voucher")
    assert msg is not None
    pdf = httpx.get(chat.base_url + msg["file"]["url"]).content
    text_a = "\n".join(p.get_text() for p in pymupdf.open(stream=pdf, filetype="pdf"))
    text_b = "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    for text in (text_a, text_b):
        assert plain.confirmation_no in text
        assert not contains_amount(text), text
        assert "540" not in text
    assert chat.find_message(f"hotel-{nos['silent'].lower()}",
                             f"hotel-vcc:{nos['silent']}:voucher") is None  # fmt: skip

    # the virtual-payment fee, once per card
    from tasks.fees import trip_fee_lines

    # the plain run re-executed from the top at every resume, yet each card has one fee line
    for name, count in (("plain", 1), ("silent", 1), ("declined", 0)):
        lines = trip_fee_lines(nos[name])
        assert len(lines) == count, (name, lines)
        for line in lines:
            assert line["event_key"] == f"hotel-vcc:{nos[name]}:virtual_payment"
            assert line["kind"] == "service"
            assert line["amount_minor"] > 0

    _assert_card_nowhere_in_clear(pan, list(run_ids.values()))

    # a reply nobody claims is quarantined and listed by the watcher flow; the daily table
    _send_unmatched(sandbox)
    result = asyncio.run(watch_hotel_mailbox())
    assert result["quarantine"] >= 1
    report = asyncio.run(report_open_hotel_bookings())
    assert report["open"] >= 1


@pytest.mark.slow
def test_every_hotel_type_and_ops_path_end_to_end(served: str, sandbox: dict[str, Any]) -> None:
    """Room chart sold out and an ops-cancelled sale (refunded through the gateway), a sale ops
    accept, VND (waits for the FX e-mail), split delivery, a slow hotel chased by the reminder,
    an inquiry-first hotel with three CCs, and a silent hotel resent by ops."""
    stamp = f"{int(time.time() * 1000) % 1_000_000:06d}"
    kinds = ["sold_out", "sale_cancel", "sale_proceed", "vnd", "split", "slow", "inquiry", "resend"]
    nos = {name: f"BK-202612{i:02d}-{stamp}" for i, name in enumerate(kinds, 1)}
    fast = {"delay_seconds": 0.3, "charge_delay_seconds": 0.3}
    for name in kinds:
        _behave(sandbox, nos[name], **fast)
    _behave(sandbox, nos["split"], style="en_forwarded")
    _behave(sandbox, nos["slow"], mode="slow", style="ko_quoted")
    _behave(sandbox, nos["resend"], mode="silent")
    paid = {"sold_out": "335000", "sale_cancel": "600000", "sale_proceed": "700000"}
    pg_url = sandbox["services"]["group_pg"]["url"]
    pay_keys = {name: traveller_paid(pg_url, nos[name], int(paid[name])) for name in paid}
    docs = {
        "sold_out": hotel_booking(nos["sold_out"], hotel_code="SPN-CRL", room_type="STD",
                                  check_in="2027-02-13", check_out="2027-02-15",
                                  paid_amount=paid["sold_out"], payment_key=pay_keys["sold_out"]),
        "sale_cancel": hotel_booking(nos["sale_cancel"], paid_amount=paid["sale_cancel"],
                                     payment_key=pay_keys["sale_cancel"]),
        "sale_proceed": hotel_booking(nos["sale_proceed"], paid_amount=paid["sale_proceed"],
                                      payment_key=pay_keys["sale_proceed"]),
        "vnd": hotel_booking(nos["vnd"], hotel_code="DAD-LTS", room_type="SUP",
                             paid_amount="356000"),
        "split": hotel_booking(nos["split"], hotel_code="HNL-SOL", room_type="GDN",
                               paid_amount="1110000"),
        "slow": hotel_booking(nos["slow"], hotel_code="SPN-SLW", room_type="STD",
                              paid_amount="398000"),
        "inquiry": hotel_booking(nos["inquiry"], hotel_code="GUM-TRP", room_type="DLX",
                                 paid_amount="670000"),  # 480.00 USD
        "resend": hotel_booking(nos["resend"]),
    }  # fmt: skip
    run_ids = {name: _start(doc) for name, doc in docs.items()}
    hotels_url = sandbox["services"]["hotels"]["url"]
    acted: set[str] = set()

    def once(what: str, action: Callable[[], Any]) -> None:
        if what not in acted:
            acted.add(what)
            action()

    def react(states: dict[str, str]) -> None:
        if states["vnd"] == "AwaitingHotelFx":  # the hotel's daily rate e-mail comes in
            once("fx", lambda: httpx.post(f"{hotels_url}/fx-email",
                 json={"hotel_code": "DAD-LTS", "rate": "25410.5"}).raise_for_status())  # fmt: skip
        for name, action in (("sale_cancel", "cancel"), ("sale_proceed", "proceed")):
            if states[name] == "AwaitingOpsDecision":
                answer = {"action": action, "note": "checked"}
                once(name, lambda name=name, answer=answer: resume_flow_run(
                    UUID(run_ids[name]), run_input=answer))  # fmt: skip
        if states["resend"] == "AwaitingOpsDecision":  # the hotel will answer the second sheet

            def resend() -> None:
                _behave(sandbox, nos["resend"], mode="confirm")
                resume_flow_run(UUID(run_ids["resend"]), run_input={"action": "resend"})

            once("resend", resend)

    def done(states: dict[str, str], _seen: dict[str, set[str]]) -> bool:
        return all(st in FINISHED for st in states.values())

    states, seen, passes = _drive(run_ids, react, done, timeout=300)
    assert all(st == "Completed" for st in states.values()), (states, seen, passes[-2:])
    final = {name: _status(no).status for name, no in nos.items()}
    assert final == {"sold_out": "sold_out", "sale_cancel": "cancelled",
                     "sale_proceed": "completed", "vnd": "completed", "split": "completed",
                     "slow": "completed", "inquiry": "completed", "resend": "completed"}, "\n".join(
        f"{name}: {line}" for name, no in nos.items() for line in _explain(no))  # fmt: skip
    cards = {name: _cards_at_issuer(sandbox, no) for name, no in nos.items()}
    assert cards == {name: 0 if name in ("sold_out", "sale_cancel") else 1 for name in kinds}

    # refunds: in full through the gateway, once, and the ledger's refund account nets to zero
    payments = {p["paymentKey"]: p for p in pg_payments(pg_url)}
    for name in ("sold_out", "sale_cancel"):
        p = payments[pay_keys[name]]
        assert p["status"] == "CANCELED"
        [cancel] = p["cancels"]
        assert cancel["idempotencyKey"] == f"hotel-vcc:{nos[name]}:refund"
        assert cancel["cancelAmount"] == int(paid[name])
        lines = refund_lines(nos[name])
        assert (sum(lines), len(lines)) == (0, 2)
    assert payments[pay_keys["sale_proceed"]]["status"] == "DONE"
    lines = refund_lines(nos["sale_proceed"])
    assert (sum(lines), len(lines)) == (0, 0)
    assert "AwaitingOpsDecision" in seen["sale_proceed"]
    with session_scope() as s:
        trail = [(t.from_status, t.to_status, t.actor) for t in history(
            s, "hotel_bookings", nos["sale_proceed"]) if t.accepted]  # fmt: skip
    assert trail[:3] == [("received", "needs_review", "issue-hotel-vcc"),
                         ("needs_review", "received", "ops"),
                         ("received", "confirming", "issue-hotel-vcc")]  # fmt: skip

    # what each hotel received, as the sandbox hotels logged it
    def received(name: str) -> list[tuple[str, str]]:
        log = httpx.get(f"{hotels_url}/log", params={"booking_no": nos[name]}).json()
        return [(e["kind"], e["to"]) for e in log if "kind" in e]

    assert received("sold_out") == []  # nothing went to a hotel without a room
    assert received("sale_cancel") == []
    assert "AwaitingHotelFx" in seen["vnd"]
    [vnd_card] = httpx.get(f"{sandbox['services']['card-issuer']['url']}/_sandbox/cards",
                           params={"booking_reference": nos["vnd"]}).json()  # fmt: skip
    assert vnd_card["currency_code"] == "VND"
    assert received("split") == [("sheet", "reservas@solwaikiki.example.com"),
                                 ("details", "reservas@solwaikiki.example.com"),
                                 ("card", "cuentas@solwaikiki.example.com")]  # fmt: skip
    assert [k for k, _ in received("slow")] == ["sheet", "reminder", "card"]
    assert [k for k, _ in received("inquiry")] == ["inquiry", "sheet", "card"]
    for cc in ("fo", "sales", "revenue"):
        box = httpx.get(f"{sandbox['services']['admin']['url']}/mailboxes/"
                        f"{cc}@tripalms-guam.example.com").json()  # fmt: skip
        assert any(nos["inquiry"] in m["subject"] for m in box), cc
    # the silent hotel: reminded at half its limit, then the second sheet ops asked for
    assert [k for k, _ in received("resend")] == ["sheet", "reminder", "sheet", "card"]
    assert _status(nos["resend"]).details["decisions"]["1"]["action"] == "resend"


def _pause_keys(run_id: str) -> list[str]:
    """The pause keys of the run's suspensions, oldest first."""
    return [str(st.state_details.pause_key) for st in _states(run_id) if st.is_paused()]


@pytest.mark.slow
def test_a_stale_wake_up_sends_the_run_back_to_its_wait(
    served: str, sandbox: dict[str, Any], booking_no: str
) -> None:
    """Resumed with nothing arrived, the run waits again (next pause key): it neither escalates
    to ops nor goes past the wait."""
    _behave(sandbox, booking_no, mode="silent")
    run_id = _start(hotel_booking(booking_no))
    runs.wait_for_state(run_id, {"AwaitingHotelReply"}, timeout=120)
    resume_flow_run(UUID(run_id))  # a stale wake-up: no reply, the limit not reached
    deadline = time.monotonic() + 120
    while len(_pause_keys(run_id)) < 2 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _pause_keys(run_id) == ["hotel-reply-1", "hotel-reply-1-1"]
    assert _state(run_id) == "AwaitingHotelReply"
    b = _status(booking_no)
    assert (b.status, b.waiting_for) == ("confirming", "hotel_reply")
    assert _cards_at_issuer(sandbox, booking_no) == 0


@pytest.mark.slow
def test_a_crashed_run_runs_again_once_per_pass_until_the_limit_then_waits_for_ops(
    served: str, sandbox: dict[str, Any], booking_no: str
) -> None:
    """A run that crashed while its booking waits (a worker killed) runs again from the top and
    goes back to its wait without sending the sheet twice; past the limit it is left to ops."""
    from prefect.client.orchestration import get_client
    from prefect.states import Crashed

    from tasks.hotels import _update_details
    from tasks.hotels_watch import RERUN_LIMIT

    def crash() -> None:
        with get_client(sync_client=True) as client:
            client.set_flow_run_state(UUID(run_id), Crashed(message="worker killed"), force=True)

    _behave(sandbox, booking_no, mode="silent")
    run_id = _start(hotel_booking(booking_no))
    runs.wait_for_state(run_id, {"AwaitingHotelReply"}, timeout=120)
    crash()
    result = wake_runs.fn()
    assert booking_no in result["rerun"]
    assert booking_no not in result["broken"]
    deadline = time.monotonic() + 120
    while len(_pause_keys(run_id)) < 2 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _pause_keys(run_id) == ["hotel-reply-1", "hotel-reply-1-1"]  # back in its wait
    assert _status(booking_no).details["reruns"] == 1
    log = httpx.get(f"{sandbox['services']['hotels']['url']}/log",
                    params={"booking_no": booking_no}).json()  # fmt: skip
    assert [e["kind"] for e in log if "kind" in e] == ["sheet"]  # not sent again
    with session_scope() as s:
        b = s.get(HotelBooking, booking_no)
        assert b is not None
        _update_details(b, reruns=RERUN_LIMIT)
    crash()
    result = wake_runs.fn()
    assert booking_no in result["broken"]
    assert booking_no not in result["rerun"]
    assert _state(run_id) == "Crashed"


@pytest.mark.slow
def test_the_watcher_resumes_a_run_only_from_the_wait_its_booking_is_ready_for(
    served: str, booking_no: str
) -> None:
    """The booking row says "reply arrived", but the run (resumed by another pass meanwhile)
    already waits for the charge: the watcher leaves it there."""
    from prefect.client.orchestration import get_client
    from prefect.states import Paused

    from tasks.hotels import _update_details, set_waiting

    with get_client(sync_client=True) as client:  # a stand-in run (resumed, it is one pass)
        deployment = client.read_deployment_by_name("watch-hotel-mailbox/watch-hotel-mailbox")
        charge = Paused(name="AwaitingCharge", reschedule=True, pause_key="charge")
        run = client.create_flow_run_from_deployment(deployment.id, state=charge)
    register_booking.fn(hotel_booking(booking_no), str(run.id))
    set_waiting(booking_no, "hotel_reply")
    with session_scope() as s:
        b = s.get(HotelBooking, booking_no)
        assert b is not None
        _update_details(b, reply={"kind": "confirmed", "confirmation_no": "GUM123456"})
    result = wake_runs.fn()
    assert booking_no in result["not_waiting"]
    assert _state(str(run.id)) == "AwaitingCharge"
    with get_client(sync_client=True) as client:
        reply = Paused(name="AwaitingHotelReply", reschedule=True, pause_key="hotel-reply-1")
        client.set_flow_run_state(run.id, reply, force=True)
    assert booking_no in wake_runs.fn()["woken"]
    assert _state(str(run.id)) != "AwaitingHotelReply"


def _explain(booking_no: str) -> list[str]:
    """The booking's audit trail and details, for an assertion message."""
    with session_scope() as s:
        trail = [f"{t.from_status}→{t.to_status} ({t.actor}: {t.reason})"
                 for t in history(s, "hotel_bookings", booking_no)]  # fmt: skip
        b = s.get(HotelBooking, booking_no)
        return [*trail, repr(b.details if b else None)]


def _send_unmatched(sandbox: dict[str, Any]) -> None:
    from email.message import EmailMessage

    from tasks.mail import load_mailer

    msg = EmailMessage()
    msg["Message-ID"] = f"<{time.time_ns()}@harborplaza-guam.example.com>"
    msg["From"] = "reservations@harborplaza-guam.example.com"
    msg["To"] = "hoteldesk@travelops.example.com"
    msg["Subject"] = "Re: your e-mail"
    msg.set_content("Thank you, noted.")
    load_mailer().send(msg)


def _assert_card_nowhere_in_clear(pan: str, run_ids: list[str]) -> None:
    """The issued card's number: not in logs, parameters, states, artifacts, results or DBs."""
    from pathlib import Path

    from prefect.settings import PREFECT_HOME, PREFECT_SERVER_DATABASE_CONNECTION_URL
    from sqlalchemy import text

    forms = [pan, " ".join(pan[i : i + 4] for i in range(0, len(pan), 4))]

    def leaks(blob: bytes | str) -> bool:
        data = blob.encode() if isinstance(blob, str) else blob
        return any(f.encode() in data for f in forms)

    for rid in run_ids:
        assert not [m for m in runs.logs(rid) if leaks(m)]
        run = runs.flow_run(rid)
        assert not leaks(repr(run.parameters) + repr(run.state))
        assert not [a for a in runs.artifacts(rid) if leaks(repr(a))]
    storage = Path(PREFECT_HOME.value()) / "storage"
    assert not [p for p in storage.rglob("*") if p.is_file() and leaks(p.read_bytes())]
    with session_scope() as s:
        for table in ("virtual_cards", "hotel_bookings", "side_effects", "status_transitions"):
            assert not leaks(repr(s.execute(text(f"SELECT * FROM {table}")).all())), table
        db_file = Path(str(s.get_bind().url.database))
    server_db = Path(str(PREFECT_SERVER_DATABASE_CONNECTION_URL.value()).split("///", 1)[1])
    for path in (db_file, server_db):
        for f in path.parent.glob(path.name + "*"):
            assert not leaks(f.read_bytes()), f


def test_uncharged_card_is_closed_after_end_date_and_grace(
    prefect_api: str, sandbox: dict[str, Any], booking_no: str
) -> None:
    from datetime import date

    from tasks.hotels import (
        finish_charge,
        fix_card_amount,
        issue_card_once,
        price_booking,
        register_booking,
        set_status,
        set_waiting,
    )

    _behave(sandbox, booking_no, mode="silent", charge="none")
    register_booking.fn(hotel_booking(booking_no), None)
    price_booking(booking_no)
    fix_card_amount(booking_no)
    card = issue_card_once(booking_no)
    set_status(booking_no, "confirming", "test: sheet sent")
    set_status(booking_no, "awaiting_charge", "test: card sent")
    set_waiting(booking_no, "charge")
    assert poll_charges.fn(today=date(2027, 3, 15))["expired"] == []  # within the grace days
    assert poll_charges.fn(today=date(2027, 3, 17))["expired"] == [booking_no]
    assert finish_charge.fn(booking_no)["status"] == "needs_review"
    with session_scope() as s:
        row = s.scalar(select(VirtualCard).where(VirtualCard.booking_no == booking_no))
        assert row is not None
        assert row.status == "closed"
    url = sandbox["services"]["card-issuer"]["url"]
    [at_issuer] = httpx.get(
        f"{url}/_sandbox/cards", params={"booking_reference": booking_no}
    ).json()
    assert at_issuer["status"] == "closed"
    assert at_issuer["id"] == card["card_id"]
