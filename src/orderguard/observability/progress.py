"""Progress of long commands (seeding, the ledger check, benchmarks), with Rich, on stderr only.

Machine-readable output goes to stdout and is never mixed with it. The bar is transient: it is
drawn while the work runs and leaves nothing behind. When stderr is not a terminal (a pipe, a log
file, CI) nothing is drawn at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

Advance = Callable[..., None]  # advance(steps=1, description=None)


def stderr_console() -> Console:
    """Where progress is drawn (a test may give another)."""
    return Console(stderr=True)


@contextmanager
def progress(description: str, total: float | None = None) -> Iterator[Advance]:
    """A progress bar of `total` steps (a spinner when None) while the block runs; yields
    `advance(steps=1, description=None)`, which moves it on and may rename what is being done."""
    console = stderr_console()
    if not console.is_terminal:
        yield _nothing
        return
    columns = [SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn()]
    if total is None:
        columns = [SpinnerColumn(), TextColumn("{task.description}")]
    with Progress(
        *columns, TimeElapsedColumn(), console=console, transient=True, refresh_per_second=4
    ) as bar:
        task = bar.add_task(description, total=total)

        def advance(steps: float = 1, description: str | None = None) -> None:
            if description is None:
                bar.update(task, advance=steps)
            else:
                bar.update(task, advance=steps, description=description)

        yield advance


def _nothing(steps: float = 1, description: str | None = None) -> None:
    return None
