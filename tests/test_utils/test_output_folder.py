"""OutputFolder: an output folder always holds one complete run (issue 17.7)."""
import os

import pytest

from partseg.utils.cli import UserError
from partseg.utils.output_folder import OutputFolder


def test_complete_run_replaces_the_earlier_one(tmp_path):
    out = tmp_path / 'preds'
    out.mkdir()
    (out / 'a.png').write_text('old')
    (out / 'centroids.json').write_text('old')
    folder = OutputFolder(str(out), ('*.png', 'centroids.json'))
    partial = folder.start()
    assert partial == str(tmp_path / '.preds.partial')
    assert (out / 'a.png').read_text() == 'old'  # untouched while the run writes
    (tmp_path / '.preds.partial' / 'b.png').write_text('new')
    assert folder.finish() == str(out)
    assert sorted(os.listdir(out)) == ['b.png']
    assert sorted(os.listdir(tmp_path)) == ['preds']


def test_failed_run_leaves_the_earlier_one(tmp_path):
    out = tmp_path / 'preds'
    out.mkdir()
    (out / 'a.png').write_text('old')
    folder = OutputFolder(str(out), ('*.png', ))
    (tmp_path / '.preds.partial').mkdir()  # left by a killed run
    (tmp_path / '.preds.partial' / 'stale.png').write_text('x')
    partial = folder.start()
    assert os.listdir(partial) == []
    (tmp_path / '.preds.partial' / 'b.png').write_text('new')
    folder.discard()
    assert sorted(os.listdir(tmp_path)) == ['preds']
    assert os.listdir(out) == ['a.png'] and (out / 'a.png').read_text() == 'old'


def test_folder_with_other_files_is_refused(tmp_path):
    (tmp_path / 'photo.jpg').write_text('mine')
    with pytest.raises(UserError, match=r'--out-dir .* holds photo.jpg, which is not an output'):
        OutputFolder(str(tmp_path), ('*.png', ), '--out-dir').start()
    (tmp_path / 'photo.jpg').unlink()
    (tmp_path / 'sub').mkdir()
    with pytest.raises(UserError, match='holds sub'):
        OutputFolder(str(tmp_path), ('*', )).check()
    file = tmp_path / 'file'
    file.write_text('x')
    with pytest.raises(UserError, match='exists and is not a folder'):
        OutputFolder(str(file), ('*', )).check()


def test_new_folder_and_parents_are_created(tmp_path):
    folder = OutputFolder(str(tmp_path / 'a' / 'b'), ('*.png', ))
    folder.start()
    assert folder.finish() == str(tmp_path / 'a' / 'b')
    assert os.listdir(tmp_path / 'a') == ['b']
