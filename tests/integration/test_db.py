"""Data layer on SQLite and PostgreSQL: migrations, audited CAS, ledger, side effects."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from db import side_effects
from db.audit import history, transition
from db.ledger import post_entries
from db.migrate import alembic_config, current_heads, expected_heads
from db.models.group import GroupOrder
from db.session import session_scope
from domain.errors import AmbiguousOutcome, InvalidInput
from domain.states import StateMachine
from tasks.once import Outcome, SideEffectRefused, perform_once

ORDER_MACHINE = StateMachine.build(
    "group",
    "quoted",
    {
        "quoted": ["deposit_paid"],
        "deposit_paid": ["awaiting_ops"],
        "awaiting_ops": ["confirmed", "expired_refunded"],
    },
)


def _order(status: str = "quoted") -> str:
    order_no = f"GR-{uuid.uuid4().hex[:10]}"
    with session_scope() as s:
        s.add(
            GroupOrder(
                order_no=order_no,
                product_code="P1",
                departure_date=date(2027, 1, 1),
                group_model="A",
                party_size=6,
                status=status,
            )
        )
    return order_no


def test_migrations_reach_every_branch_head(db_url: str) -> None:
    assert current_heads(db_url) == expected_heads()
    assert len(expected_heads()) >= 4  # one branch per process on top of the core


def test_models_and_migrations_agree(db_url: str) -> None:
    from alembic import command

    command.check(alembic_config(db_url))  # raises if autogenerate would emit anything


def test_transition_is_guarded_and_audited(db_url: str) -> None:
    order_no = _order("awaiting_ops")
    with session_scope() as s:
        assert transition(
            s,
            GroupOrder,
            order_no,
            "confirmed",
            machine=ORDER_MACHINE,
            actor="ops:kim",
            reason="approved with v1 prices",
        )
    with session_scope() as s:
        assert not transition(
            s,
            GroupOrder,
            order_no,
            "expired_refunded",
            machine=ORDER_MACHINE,
            actor="system:sla",
            reason="deadline",
        )
    with session_scope() as s:
        rows = history(s, "group_orders", order_no)
        assert [(r.from_status, r.to_status, r.accepted, r.actor) for r in rows] == [
            ("awaiting_ops", "confirmed", True, "ops:kim"),
            ("confirmed", "expired_refunded", False, "system:sla"),
        ]
        assert rows[1].reason.startswith("refused: status was 'confirmed'")
        assert s.get(GroupOrder, order_no).status == "confirmed"  # type: ignore[union-attr]


def test_an_idempotent_repeat_of_a_move_is_no_refusal(db_url: str) -> None:
    order_no = _order("awaiting_ops")
    for _ in range(2):  # the same event reported twice
        with session_scope() as s:
            transition(
                s, GroupOrder, order_no, "confirmed", machine=ORDER_MACHINE, actor="ops:kim",
                idempotent=True,
            )  # fmt: skip
    with session_scope() as s:  # a different move is still refused and recorded
        assert not transition(
            s, GroupOrder, order_no, "expired_refunded", machine=ORDER_MACHINE, actor="sla",
            idempotent=True,
        )  # fmt: skip
    with session_scope() as s:
        rows = history(s, "group_orders", order_no)
        assert [(r.to_status, r.accepted) for r in rows] == [
            ("confirmed", True),
            ("expired_refunded", False),
        ]


def test_racing_transitions_have_exactly_one_winner(db_url: str) -> None:
    order_no = _order("awaiting_ops")
    barrier = threading.Barrier(2)

    def attempt(to_status: str) -> bool:
        barrier.wait()
        with session_scope() as s:
            return transition(
                s,
                GroupOrder,
                order_no,
                to_status,
                machine=ORDER_MACHINE,
                actor=f"racer:{to_status}",
            )

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(attempt, ["confirmed", "expired_refunded"]))
    assert sorted(results) == [False, True]
    with session_scope() as s:
        accepted = [r for r in history(s, "group_orders", order_no) if r.accepted]
        assert len(accepted) == 1
        assert s.get(GroupOrder, order_no).status == accepted[0].to_status  # type: ignore[union-attr]


def _entry(key: str, amount: int) -> dict[str, object]:
    return {
        "entry_key": key,
        "book": "test",
        "business_key": "R1",
        "business_date": date(2026, 11, 21),
        "account": "commission",
        "counterparty": "AG1",
        "kind": "posting",
        "amount_minor": amount,
        "currency": "KRW",
        "memo": "",
        "posted_by": "test",
        "posted_at": datetime.now(UTC),
    }


def test_ledger_posts_each_key_once(db_url: str) -> None:
    key = f"L-{uuid.uuid4().hex}"
    with session_scope() as s:
        assert post_entries(s, [_entry(key, 100), _entry(key + "b", 5)]) == 2
    with session_scope() as s:
        assert post_entries(s, [_entry(key, 999), _entry(key + "c", 7)]) == 1
        total = s.execute(
            text("SELECT sum(amount_minor) FROM ledger_entries WHERE entry_key LIKE :k"),
            {"k": key + "%"},
        ).scalar_one()
        assert total == 112


@pytest.mark.parametrize(
    "statement", ["UPDATE ledger_entries SET amount_minor = 0", "DELETE FROM ledger_entries"]
)
def test_ledger_refuses_update_and_delete(db_url: str, statement: str) -> None:
    with session_scope() as s:
        post_entries(s, [_entry(f"L-{uuid.uuid4().hex}", 1)])
    with pytest.raises(DBAPIError, match="append-only"), session_scope() as s:
        s.execute(text(statement))


class FakeIssuer:
    """A provider that honours idempotency keys, can fail after acting, and counts effects."""

    def __init__(self) -> None:
        self.effects: dict[str, str] = {}
        self.calls = 0
        self.fail_after_acting = 0
        self.lock = threading.Lock()

    def call(self, key: str) -> Outcome:
        with self.lock:
            self.calls += 1
            ref = self.effects.setdefault(key, f"card-{len(self.effects) + 1}")
            if self.fail_after_acting:
                self.fail_after_acting -= 1
                raise AmbiguousOutcome("timeout after the request left")
        return Outcome(ref, {"ref": ref})

    def lookup(self, key: str) -> Outcome | None:
        ref = self.effects.get(key)
        return Outcome(ref, {"ref": ref, "found": True}) if ref else None


def test_perform_once_replays_recorded_success(db_url: str) -> None:
    issuer, key = FakeIssuer(), f"issue:{uuid.uuid4().hex}"
    first = perform_once(key, "card", issuer.call, issuer.lookup)
    again = perform_once(key, "card", issuer.call, issuer.lookup)
    assert (first.replayed, again.replayed) == (False, True)
    assert first.provider_ref == again.provider_ref
    assert issuer.calls == 1


def test_ambiguous_failure_is_looked_up_not_repeated(db_url: str) -> None:
    issuer, key = FakeIssuer(), f"issue:{uuid.uuid4().hex}"
    issuer.fail_after_acting = 1
    with pytest.raises(AmbiguousOutcome):
        perform_once(key, "card", issuer.call, issuer.lookup)
    outcome = perform_once(key, "card", issuer.call, issuer.lookup)
    assert outcome.result["found"] is True
    assert issuer.calls == 1
    assert len(issuer.effects) == 1


def test_business_refusal_is_final(db_url: str) -> None:
    key = f"issue:{uuid.uuid4().hex}"

    def refuse(_: str) -> Outcome:
        raise InvalidInput("amount", -1, "must be positive")

    with pytest.raises(InvalidInput):
        perform_once(key, "card", refuse)
    with pytest.raises(SideEffectRefused, match="must be positive"):
        perform_once(key, "card", refuse)


def test_concurrent_callers_produce_one_effect(db_url: str) -> None:
    issuer, key = FakeIssuer(), f"issue:{uuid.uuid4().hex}"
    barrier = threading.Barrier(4)

    def run(_: int) -> str | None:
        barrier.wait()
        return perform_once(key, "card", issuer.call, issuer.lookup, poll=0.05).provider_ref

    with ThreadPoolExecutor(4) as pool:
        refs = set(pool.map(run, range(4)))
    assert refs == {"card-1"}
    assert issuer.calls == 1


def test_crashed_claim_is_taken_over_after_its_lease(db_url: str) -> None:
    issuer, key = FakeIssuer(), f"issue:{uuid.uuid4().hex}"
    with session_scope() as s:  # a run that claimed the key, called the issuer, then died
        side_effects.claim(s, key, "card", "dead-owner", timedelta(seconds=1))
    issuer.call(key)
    issuer.calls = 0
    outcome = perform_once(
        key, "card", issuer.call, issuer.lookup, lease=timedelta(milliseconds=200), poll=0.05
    )
    assert outcome.result["found"] is True
    assert issuer.calls == 0


def test_read_scope_reads_while_a_writer_holds_the_lock_and_never_commits(db_url: str) -> None:
    from db.session import read_scope

    order_no = _order()
    writing = threading.Event()
    release = threading.Event()

    def writer() -> None:
        with session_scope() as s:
            row = s.get(GroupOrder, order_no)
            assert row is not None
            row.party_size = 9
            s.flush()  # the row is written, the transaction (and on SQLite the lock) still open
            writing.set()
            release.wait(10)

    with ThreadPoolExecutor(1) as pool:
        done = pool.submit(writer)
        assert writing.wait(10)
        started = datetime.now(UTC)
        with read_scope() as s:
            row = s.get(GroupOrder, order_no)
            assert row is not None
            assert row.party_size == 6  # the last committed state, read without waiting
            row.status = "deposit_paid"  # changed in the session: never committed
        assert datetime.now(UTC) - started < timedelta(seconds=2)
        release.set()
        done.result(10)
    with session_scope() as s:
        row = s.get(GroupOrder, order_no)
        assert row is not None
        assert (row.party_size, row.status) == (9, "quoted")
