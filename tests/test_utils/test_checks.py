"""partseg.utils.checks: the value back, or one ValueError line naming owner and key."""
import numpy as np
import pytest

from partseg.utils.checks import check_int, check_number


def test_check_int_returns_the_value():
    assert check_int(3, 'k', 1) == 3
    assert check_int(0, 'k', 0, 5) == 0
    assert check_int(np.int64(4).item(), 'k') == 4


@pytest.mark.parametrize(
    'value, kwargs, message',
    [
        (0, dict(low=1), "^k must be a positive integer, got 0$"),
        (True, dict(low=1), "^k must be a positive integer, got True$"),  # a bool is no count
        (2.0, dict(low=0), "^k must be a non-negative integer, got 2.0$"),
        ('4', dict(low=2), "^k must be an integer >= 2, got '4'$"),
        (9, dict(low=0, high=8), r"^k must be an integer in \[0, 8\], got 9$"),
        (None, dict(), "^k must be an integer, got None$"),
        (0, dict(low=1, owner='Hook',
                 hint='K >= 1'), r"^Hook: k must be a positive integer \(K >= 1\), got 0$"),
    ])
def test_check_int_one_line_errors(value, kwargs, message):
    with pytest.raises(ValueError, match=message):
        check_int(value, 'k', **kwargs)


def test_check_number():
    assert check_number(1, 'x', 0, 1) == 1.0 and isinstance(check_number(1, 'x'), float)
    for bad, message in [(1.5, r'x must be a number in \[0, 1\], got 1.5'),
                         (float('nan'), r'x must be a number in \[0, 1\], got nan'),
                         (False, r'x must be a number in \[0, 1\], got False'),
                         ('0.5', r"x must be a number in \[0, 1\], got '0.5'")]:
        with pytest.raises(ValueError, match=message):
            check_number(bad, 'x', 0, 1)
    with pytest.raises(ValueError, match='^Loss: w must be a number >= 0, got -1$'):
        check_number(-1, 'w', 0, owner='Loss')
