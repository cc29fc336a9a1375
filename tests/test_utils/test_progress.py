"""track: a progress bar that yields every item and reports the count on stderr."""
from partseg.utils.progress import track


def test_track_yields_all_items_and_draws_the_count(capsys):
    assert list(track(range(7), 'converting')) == list(range(7))
    err = capsys.readouterr().err
    assert 'converting' in err and '7/7' in err


def test_track_with_total_for_a_generator(capsys):
    assert list(track((i * 2 for i in range(3)), 'pairs', total=3)) == [0, 2, 4]
    assert '3/3' in capsys.readouterr().err


def test_disabled_track_writes_nothing(capsys):
    assert list(track(range(3), 'quiet', enabled=False)) == [0, 1, 2]
    assert capsys.readouterr().err == ''
