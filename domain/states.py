"""State machines as data: which status may follow which. Guards live in db/audit.py."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from domain.errors import BusinessRuleError


class IllegalTransition(BusinessRuleError):
    """The requested status does not follow from the current one."""


@dataclass(frozen=True)
class StateMachine:
    name: str
    transitions: Mapping[str, frozenset[str]]
    initial: str
    terminal: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def build(
        cls,
        name: str,
        initial: str,
        edges: Mapping[str, Iterable[str]],
        terminal: Iterable[str] = (),
    ) -> StateMachine:
        return cls(
            name=name,
            transitions={k: frozenset(v) for k, v in edges.items()},
            initial=initial,
            terminal=frozenset(terminal),
        )

    @property
    def states(self) -> frozenset[str]:
        targets = {t for ts in self.transitions.values() for t in ts}
        return frozenset(self.transitions) | targets | {self.initial}

    def sources(self, to_status: str) -> frozenset[str]:
        """Every status from which `to_status` may be entered."""
        return frozenset(src for src, dsts in self.transitions.items() if to_status in dsts)

    def allows(self, from_status: str, to_status: str) -> bool:
        return to_status in self.transitions.get(from_status, frozenset())

    def check(self, from_status: str, to_status: str) -> None:
        if not self.allows(from_status, to_status):
            raise IllegalTransition(f"{self.name}: {from_status} → {to_status} is not allowed")
