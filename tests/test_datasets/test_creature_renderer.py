"""partseg.datasets.creature_renderer: pure numpy (no torch, no MMEngine), a function of its
generator, and the arrays the dataset hands on."""
import os.path as osp
import subprocess
import sys
import textwrap

import numpy as np

from partseg.datasets import creature_renderer
from partseg.datasets.creature_renderer import landmark_names, render_creature


def test_imports_nothing_but_numpy():
    # load the file on its own (not through partseg.datasets, which imports MMEngine)
    script = textwrap.dedent('''
        import importlib.util, sys
        spec = importlib.util.spec_from_file_location('renderer', sys.argv[1])
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.render_creature(__import__('numpy').random.default_rng(0), 3, (16, 16), 0.5)
        print(sorted(m for m in ('torch', 'mmengine', 'mmcv', 'partseg') if m in sys.modules))
    ''')
    out = subprocess.run([sys.executable, '-c', script,
                          osp.abspath(creature_renderer.__file__)],
                         check=True,
                         capture_output=True,
                         text=True)
    assert out.stdout.strip() == '[]'


def test_a_function_of_the_generator_with_the_dataset_arrays():
    first = render_creature(np.random.default_rng([3, 1, 4]), 5, (24, 32), 0.0)
    again = render_creature(np.random.default_rng([3, 1, 4]), 5, (24, 32), 0.0)
    other = render_creature(np.random.default_rng([3, 1, 5]), 5, (24, 32), 0.0)
    for key, value in first.items():
        np.testing.assert_array_equal(value, again[key])
    assert not np.array_equal(first['img'], other['img'])
    assert first['img'].shape == (24, 32, 3) and first['img'].dtype == np.uint8
    assert first['gt_seg_map'].shape == (24, 32) and first['gt_seg_map'].max() <= 5
    np.testing.assert_array_equal(first['gt_fg_mask'], first['gt_seg_map'] > 0)
    n = len(landmark_names(5))
    assert first['gt_landmarks'].shape == (n, 2) and first['gt_landmarks_visible'].shape == (n, )
