"""find_config: a config by its repository-relative name, from any working directory."""
import os.path as osp

from partseg.utils.shipped_files import find_config, shipped_roots

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_repository_names_resolve_from_another_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert ROOT in shipped_roots()  # a checkout: configs/ beside the package
    expected = osp.join(ROOT, 'configs', 'dispart', 'synthetic_k4.py')
    assert find_config('configs/dispart/synthetic_k4.py') == expected
    assert find_config('dispart/synthetic_k4.py') == expected  # without configs/


def test_existing_and_unknown_paths_are_returned_as_given(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'mine.py').write_text('x = 1\n')
    assert find_config('mine.py') == 'mine.py'
    assert find_config('configs/no/such.py') == 'configs/no/such.py'
    assert find_config('/abs/no/such.py') == '/abs/no/such.py'
