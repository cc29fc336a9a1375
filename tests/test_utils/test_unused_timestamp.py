import os
import time

from partseg.utils.cli import wait_for_unused_timestamp


def test_returns_at_once_when_no_run_folder_of_this_second(tmp_path):
    start = time.monotonic()
    wait_for_unused_timestamp(str(tmp_path))
    assert time.monotonic() - start < 0.5


def test_waits_for_the_next_second_when_this_seconds_folder_exists(tmp_path):
    taken = time.strftime('%Y%m%d_%H%M%S', time.localtime())
    os.makedirs(tmp_path / taken)
    wait_for_unused_timestamp(str(tmp_path))
    now = time.strftime('%Y%m%d_%H%M%S', time.localtime())
    assert now != taken
    assert not (tmp_path / now).exists()
