"""`python -m travelops` is the `travelops` command."""

from travelops.cli import main

main()
