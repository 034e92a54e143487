"""The registry of demo scenarios, run in this order: the foundation's, then each process's."""

from travelops.demo import Scenario
from travelops.demo.scenarios import mail_roundtrip
from travelops.processes import collect

CORE_SCENARIOS: list[Scenario] = [mail_roundtrip.SCENARIO]


def all_scenarios() -> list[Scenario]:
    return [*CORE_SCENARIOS, *collect("SCENARIOS")]
