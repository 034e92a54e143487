"""`python -m sandbox`: the same as `travelops sandbox` (used by test fixtures)."""

from travelops.cli import main

if __name__ == "__main__":
    main(["sandbox", *__import__("sys").argv[1:]])
