"""Checks of arguments a user can get wrong (config values, tool options): each returns the value
or raises one ValueError line naming the owner and the key.

Internal invariants (shapes one module hands another) stay plain ``assert`` statements.
"""
from numbers import Real
from typing import Optional

__all__ = ['check_int', 'check_number']


def _where(owner: str, key: str) -> str:
    return f'{owner}: {key}' if owner else key


def check_int(value,
              key: str,
              low: Optional[int] = None,
              high: Optional[int] = None,
              *,
              owner: str = '',
              hint: str = '') -> int:
    """``value`` when it is an int (a bool is not) in [``low``, ``high``] (None: unbounded);
    else ``ValueError('<owner>: <key> must be a positive integer (<hint>), got <value>')``, the
    phrase following the bounds."""
    if (isinstance(value, bool) or not isinstance(value, int) or (low is not None and value < low)
            or (high is not None and value > high)):
        if high is not None:
            phrase = f'an integer in [{low if low is not None else "-inf"}, {high}]'
        elif low == 1:
            phrase = 'a positive integer'
        elif low == 0:
            phrase = 'a non-negative integer'
        elif low is not None:
            phrase = f'an integer >= {low}'
        else:
            phrase = 'an integer'
        extra = f' ({hint})' if hint else ''
        raise ValueError(f'{_where(owner, key)} must be {phrase}{extra}, got {value!r}')
    return value


def check_number(value,
                 key: str,
                 low: Optional[float] = None,
                 high: Optional[float] = None,
                 *,
                 owner: str = '',
                 hint: str = '') -> float:
    """``float(value)`` when it is a real number (a bool is not) in [``low``, ``high``] (None:
    unbounded; NaN never passes); else a one-line ValueError like :func:`check_int`'s."""
    ok = isinstance(value, Real) and not isinstance(value, bool) and value == value
    if not ok or (low is not None and value < low) or (high is not None and value > high):
        if low is not None and high is not None:
            phrase = f'a number in [{low}, {high}]'
        elif low is not None:
            phrase = f'a number >= {low}'
        elif high is not None:
            phrase = f'a number <= {high}'
        else:
            phrase = 'a number'
        extra = f' ({hint})' if hint else ''
        raise ValueError(f'{_where(owner, key)} must be {phrase}{extra}, got {value!r}')
    return float(value)
