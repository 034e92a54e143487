"""Approval and the SLA deadline racing on one order: exactly one wins, the loser is recorded."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from sqlalchemy import select

from db.models.core import StatusTransition
from db.session import session_scope
from tasks.group_data import load_catalog
from tasks.group_orders import load_order, place_order, request_from_payload, set_status
from tests.fixtures.group import group_order_payload


def _awaiting_ops_order() -> str:
    payload = group_order_payload("TONGYEONG-WISH-3D", options=("WISH-LIGHT",))
    placed = place_order(request_from_payload(payload), load_catalog(), datetime.now(UTC).date())
    order_no = placed["order_no"]
    assert set_status(order_no, "deposit_paid")
    assert set_status(order_no, "awaiting_ops")
    return order_no


def test_approval_and_deadline_race_exactly_one_wins(db_url: str) -> None:
    for _ in range(5):
        order_no = _awaiting_ops_order()
        barrier = threading.Barrier(2)
        results: dict[str, bool] = {}

        def attempt(
            who: str,
            to: str,
            order_no: str = order_no,
            barrier: threading.Barrier = barrier,
            results: dict[str, bool] = results,
        ) -> None:
            barrier.wait()
            results[who] = set_status(order_no, to, actor=who)

        threads = [
            threading.Thread(target=attempt, args=("ops:kim", "confirmed")),
            threading.Thread(target=attempt, args=("sla-deadline", "expired_refunded")),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(results.values()) == [False, True]
        winner = next(who for who, won in results.items() if won)
        final = load_order(order_no)["status"]
        assert final == ("confirmed" if winner == "ops:kim" else "expired_refunded")
        with session_scope() as s:
            rows = s.scalars(
                select(StatusTransition).where(
                    StatusTransition.entity_key == order_no,
                    StatusTransition.to_status.in_(["confirmed", "expired_refunded"]),
                )
            ).all()
            assert sorted(r.accepted for r in rows) == [False, True]
            loser = next(r for r in rows if not r.accepted)
            assert loser.reason.startswith("refused")
        # nothing can confirm the order afterwards
        assert not set_status(order_no, "confirmed", actor="ops:late")


def test_invalid_or_late_ops_decisions_are_refused_and_recorded(db_url: str) -> None:
    from datetime import timedelta

    from flows.group_booking import apply_decision
    from tasks.group_orders import refused_decisions

    order_no = _awaiting_ops_order()
    bad = {"action": "approve", "final_prices": {"option:NOPE": 1}, "decided_by": "kim"}
    assert apply_decision.fn(order_no, bad, 0) == "invalid"
    assert apply_decision.fn(order_no, bad, 0) == "invalid"  # a replayed run records nothing new
    assert refused_decisions(order_no) == 1
    assert load_order(order_no)["status"] == "awaiting_ops"
    past = datetime.now(UTC) - timedelta(seconds=1)
    assert set_status(
        order_no, "awaiting_ops", allowed_from=["awaiting_ops"], values={"deadline_at": past}
    )
    good = {"action": "approve", "final_prices": {"option:WISH-LIGHT": 19000}}
    assert apply_decision.fn(order_no, good, 1) == "refused"
    assert load_order(order_no)["status"] == "awaiting_ops"  # the deadline run refunds it
