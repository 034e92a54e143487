"""The `travelops` command. Errors are one line on stderr and a non-zero exit, never a traceback."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

import typer

from domain.cards import mask_card_data
from domain.errors import TravelOpsError

app = typer.Typer(
    name="travelops",
    help="travelops: group bookings, hotel virtual cards, TMC fees and coupons as Prefect flows.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
blocks_app = typer.Typer(help="Prefect blocks for the external systems.", no_args_is_help=True)
bench_app = typer.Typer(help="Benchmarks: each prints one JSON line.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(blocks_app, name="blocks")
app.add_typer(bench_app, name="bench")

# Commands register themselves on the apps above when their module is imported.
from travelops.cli import core  # noqa: E402,F401
from travelops.processes import processes  # noqa: E402

for _process in processes():
    _process.register_cli(app)


def _fail(message: str, code: int) -> None:
    sys.stderr.write(f"travelops: error: {mask_card_data(message)}\n")
    sys.exit(code)


def main(argv: Sequence[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        result = app(args=args, prog_name="travelops", standalone_mode=False)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        _fail("aborted", 130)
    except typer.TyperException as exc:  # usage errors, bad parameters (typer's vendored click)
        if type(exc).__name__ == "NoArgsIsHelpError":
            exc.show()  # type: ignore[attr-defined]
            sys.exit(0)
        _fail(exc.format_message(), getattr(exc, "exit_code", 2))  # type: ignore[attr-defined]
    except TravelOpsError as exc:
        _fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    except Exception as exc:
        if os.environ.get("TRAVELOPS_DEBUG"):
            raise
        _fail(f"{type(exc).__name__}: {exc} (TRAVELOPS_DEBUG=1 shows the traceback)", 1)
    sys.exit(result if isinstance(result, int) else 0)
