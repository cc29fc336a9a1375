"""A progress bar for steps that take more than a few seconds (pair generation, conversions)."""
from typing import Iterable, Iterator, Optional, TypeVar

__all__ = ['track']

T = TypeVar('T')


def track(items: Iterable[T],
          description: str,
          total: Optional[int] = None,
          enabled: bool = True) -> Iterator[T]:
    """Yield ``items`` while drawing a progress bar on stderr (``rich``, which MMEngine requires):
    ``description``, done / ``total``, elapsed and remaining time. On a terminal the bar redraws
    in place; in a log file it is written once, when the step ends. ``enabled=False`` yields the
    items without a bar (other ranks of a distributed run)."""
    if not enabled:
        yield from items
        return
    from rich.console import Console
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                               TimeElapsedColumn, TimeRemainingColumn)
    columns = (TextColumn('{task.description}'), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TextColumn('eta'), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True)) as progress:
        yield from progress.track(items, total=total, description=description)
