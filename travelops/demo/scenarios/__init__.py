"""The registry of demo scenarios, run in this order."""

from travelops.demo import Scenario
from travelops.demo.scenarios import mail_roundtrip

SCENARIOS: list[Scenario] = [mail_roundtrip.SCENARIO]
