"""CelebA / MAFL: official layout, split prep (counts, checksums), loader, protocol end to end."""
import functools
import hashlib
import importlib.util
import os
import os.path as osp

import numpy as np
import pytest

from partseg.datasets import CelebADataset as _CelebADataset

CelebADataset = functools.partial(_CelebADataset, serialize_data=False)  # no gc.collect()

CONVERTER = osp.join(
    osp.dirname(__file__), '..', '..', '..', 'tools', 'dataset_converters', 'celeba.py')

# name: (wild image (W, H), face box (x, y, w, h), partition, MAFL list or None)
BIG, SMALL = (40, 40, 160, 160), (10, 10, 100, 100)  # 39 % / 15 % of a 256 x 256 image
IMAGES = {
    '000001.jpg': ((256, 256), BIG, 0, None),
    '000002.jpg': ((256, 256), SMALL, 0, None),  # filtered out (wild)
    '000003.jpg': ((100, 100), (0, 0, 30, 100), 0, None),  # exactly 30 %: kept
    '000004.jpg': ((256, 256), BIG, 1, None),  # validation partition: not in train
    '000005.jpg': ((256, 256), BIG, 2, None),
    **{
        f'{101 + i:06d}.jpg': ((256, 256), BIG, 0, 'training')
        for i in range(12)
    },
    '000113.jpg': ((256, 256), SMALL, 0, 'training'),  # MAFL train, filtered out (wild)
    '000201.jpg': ((256, 256), BIG, 0, 'testing'),  # MAFL test in partition 0: not in train
    '000202.jpg': ((256, 256), BIG, 0, 'testing'),
    '000203.jpg': ((256, 256), SMALL, 2, 'testing'),  # filtered out (wild)
}
WILD = {
    'train': ['000001.jpg', '000003.jpg'] + [f'{101 + i:06d}.jpg' for i in range(12)],
    'mafl_train': [f'{101 + i:06d}.jpg' for i in range(12)],
    'mafl_test': ['000201.jpg', '000202.jpg'],
}
ALIGNED = {
    'train': ['000001.jpg', '000002.jpg', '000003.jpg'] + [f'{101 + i:06d}.jpg' for i in range(13)],
    'mafl_train': [f'{101 + i:06d}.jpg' for i in range(13)],
    'mafl_test': ['000201.jpg', '000202.jpg', '000203.jpg'],
}
HEADER = ('lefteye_x lefteye_y righteye_x righteye_y nose_x nose_y leftmouth_x leftmouth_y '
          'rightmouth_x rightmouth_y')


def landmarks_of(name):
    """Distinct odd-integer (x, y) landmarks in the 256 px wild image (pixel centres at 128 px)."""
    rng = np.random.default_rng(int(name[:6]))
    return 2 * rng.choice(128, size=(5, 2), replace=False) + 1


def make_celeba(root, helpers):
    """The official CelebA archive layout plus MAFL lists, tiny."""
    wild_rows, aligned_rows, box_rows, partition = [], [], [], []
    for name, (size, box, part, _) in IMAGES.items():
        helpers.write_image(root / 'Img' / 'img_celeba' / name, size, fmt='JPEG')
        helpers.write_image(root / 'Img' / 'img_align_celeba' / name, (36, 44), fmt='JPEG')
        points = ' '.join(str(v) for v in landmarks_of(name).reshape(-1))
        wild_rows.append(f'{name} {points}')
        aligned_rows.append(f'{name} 10 20 26 20 18 28 12 36 24 36')
        box_rows.append(f'{name} ' + ' '.join(str(v) for v in box))
        partition.append(f'{name} {part}')
    count = str(len(IMAGES))
    helpers.write_text(root / 'Anno' / 'list_landmarks_celeba.txt', [count, HEADER] + wild_rows)
    helpers.write_text(root / 'Anno' / 'list_landmarks_align_celeba.txt',
                       [count, HEADER] + aligned_rows)
    helpers.write_text(root / 'Anno' / 'list_bbox_celeba.txt',
                       [count, 'image_id x_1 y_1 width height'] + box_rows)
    helpers.write_text(root / 'Eval' / 'list_eval_partition.txt', partition)
    for mafl in ('training', 'testing'):
        helpers.write_text(root / 'MAFL' / f'{mafl}.txt',
                           [n for n, (*_, m) in IMAGES.items() if m == mafl])
    return root


def load_converter():
    spec = importlib.util.spec_from_file_location('celeba_converter', CONVERTER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def celeba_root(tmp_path, helpers):
    root = make_celeba(tmp_path / 'celeba', helpers)
    assert load_converter().main([str(root)]) == 0
    return root


def test_prep_writes_lists_counts_and_checksums(celeba_root, capsys):
    for protocol, expected in (('wild', WILD), ('aligned', ALIGNED)):
        for split, names in expected.items():
            path = celeba_root / 'splits' / f'celeba_{protocol}_{split}.txt'
            assert path.read_text().split() == sorted(names), (protocol, split)
    manifest = (celeba_root / 'splits' / 'celeba_manifest.txt').read_text().splitlines()
    assert len(manifest) == 6
    for row in manifest:
        file_name, count, digest = row.split()
        data = (celeba_root / 'splits' / file_name).read_bytes()
        assert int(count) == len(data.splitlines())
        assert digest == hashlib.sha256(data).hexdigest()  # = sha256sum of the list file
    capsys.readouterr()
    assert load_converter().main([str(celeba_root)]) == 0  # idempotent; prints the manifest
    captured = capsys.readouterr()
    assert all(row in captured.out for row in manifest) and 'train 45609' in captured.out
    # reading every wild image's header (~200k files) shows its progress (issue 18.7)
    assert 'reading image sizes' in captured.err


def test_prep_image_size_list_and_train_list(tmp_path, helpers):
    root = make_celeba(tmp_path / 'celeba', helpers)
    sizes = tmp_path / 'list_imsize_celeba.txt'  # GANSeg's "<name> <h> <w>" list
    helpers.write_text(sizes, [f'{n} {s[1]} {s[0]}' for n, (s, *_) in IMAGES.items()])
    train_list = helpers.write_text(tmp_path / 'celebA_training.txt',
                                    ['000001.jpg', '000002.jpg', '000004.jpg'])
    conv = load_converter()
    assert conv.main([str(root), '--imsize-list', str(sizes), '--train-list', train_list]) == 0
    wild_train = (root / 'splits' / 'celeba_wild_train.txt').read_text().split()
    assert wild_train == ['000001.jpg', '000004.jpg']  # list used verbatim, then filtered
    mafl_test = (root / 'splits' / 'celeba_wild_mafl_test.txt').read_text().split()
    assert mafl_test == WILD['mafl_test']


def test_prep_bad_input_names_file_and_line(tmp_path, helpers, capsys):
    root = make_celeba(tmp_path / 'celeba', helpers)
    conv = load_converter()
    partition = root / 'Eval' / 'list_eval_partition.txt'
    lines = partition.read_text().splitlines()
    lines[2] = '000003.jpg three'
    partition.write_text('\n'.join(lines) + '\n')
    assert conv.main([str(root)]) == 1
    assert f'{partition}:3:' in capsys.readouterr().err
    os.remove(partition)
    assert conv.main([str(root)]) == 1
    err = capsys.readouterr().err
    assert 'list_eval_partition.txt not found' in err and 'expected layout' in err


def test_loader_entries(celeba_root):
    ds = CelebADataset(
        str(celeba_root), protocol='wild', split='mafl_test', regression_split='test')
    assert len(ds) == 2
    info = ds.get_data_info(1)
    assert info['img_path'] == str(celeba_root / 'Img' / 'img_celeba' / '000202.jpg')
    np.testing.assert_array_equal(info['gt_landmarks'], landmarks_of('000202.jpg'))
    assert info['gt_landmarks'].dtype == np.float32 and info['gt_landmarks_visible'].all()
    iod = np.linalg.norm(landmarks_of('000202.jpg')[0] - landmarks_of('000202.jpg')[1])
    np.testing.assert_allclose(info['landmark_norm'], [iod, iod], rtol=1e-6)
    np.testing.assert_array_equal(info["bbox"], [40, 40, 200, 200])  # (x, y, x + w, y + h)
    assert info['regression_split'] == 'test'
    counts = {
        (p, s): len(CelebADataset(str(celeba_root), protocol=p, split=s))
        for p in ('wild', 'aligned')
        for s in ('train', 'mafl_train', 'mafl_test')
    }
    assert counts == {
        ('wild', 'train'): 14,
        ('wild', 'mafl_train'): 12,
        ('wild', 'mafl_test'): 2,
        ('aligned', 'train'): 16,
        ('aligned', 'mafl_train'): 13,
        ('aligned', 'mafl_test'): 3
    }
    aligned = CelebADataset(str(celeba_root), protocol='aligned', split='mafl_test')
    assert 'bbox' not in aligned.get_data_info(0) and 'regression_split' not in \
        aligned.get_data_info(0)


def test_loader_bad_input(celeba_root, tmp_path):
    with pytest.raises(FileNotFoundError, match=r'Img/img_celeba.*expected layout'):
        CelebADataset(str(tmp_path / 'elsewhere'))
    with pytest.raises(ValueError, match="protocol must be one of"):
        CelebADataset(str(celeba_root), protocol='hq')
    os.remove(celeba_root / 'Img' / 'img_celeba' / '000201.jpg')
    with pytest.raises(
            FileNotFoundError,
            match=r'000201\.jpg not found \(referred to by .*celeba_wild_mafl_test'):
        CelebADataset(str(celeba_root), split='mafl_test')
    landmarks = celeba_root / 'Anno' / 'list_landmarks_celeba.txt'
    lines = landmarks.read_text().splitlines()
    lines[4] = lines[4].rsplit(' ', 1)[0]  # a row with 9 numbers
    landmarks.write_text('\n'.join(lines) + '\n')
    with pytest.raises(ValueError, match=r'list_landmarks_celeba\.txt:5: expected a name and 10'):
        CelebADataset(str(celeba_root), split='mafl_train')


@pytest.mark.parametrize('drop, line', [(0, 1), (1, 2)], ids=['count-line', 'column-names'])
def test_annotation_file_without_its_header(celeba_root, drop, line):
    for name in ('list_landmarks_celeba.txt', 'list_bbox_celeba.txt'):
        path = celeba_root / 'Anno' / name
        lines = path.read_text().splitlines()
        del lines[drop]
        path.write_text('\n'.join(lines) + '\n')
        with pytest.raises(ValueError) as error:
            CelebADataset(str(celeba_root), split='mafl_train', check_files=False)
        message = str(error.value)
        assert message.startswith(f'{path}: the header is missing: line {line} must be')
        assert 'has no row' not in message
        path.write_text('\n'.join(lines[:drop] + [['2', 'names'][drop]] + lines[drop:]) + '\n')


def test_missing_split_lists_point_to_the_prep_command(tmp_path, helpers):
    root = make_celeba(tmp_path / 'celeba', helpers)
    with pytest.raises(FileNotFoundError, match='tools/dataset_converters/celeba.py'):
        CelebADataset(str(root), split='train')


def test_wild_protocol_end_to_end(celeba_root, helpers, partseg_scope):
    """The base config's test loader and metric; parts placed on the GT landmarks, except one."""
    cfg = helpers.load_base('celeba_wild', celeba_root)
    dataset = helpers.build_dataset(cfg.test_dataloader.dataset)
    assert len(dataset) == 12 + 2
    samples = [dataset[i]['data_samples'] for i in range(len(dataset))]
    assert [s.regression_split for s in samples] == ['train'] * 12 + ['test'] * 2
    assert all(tuple(s.img_shape) == (128, 128) for s in samples)
    for sample in samples:
        points = sample.gt_landmarks.numpy()  # odd pixels at 256 px -> pixel centres at 128 px
        np.testing.assert_array_equal(points % 1, 0.5)
        helpers.predict_parts(sample, points)
    # last test image: the nose part one pixel to the right of the nose
    shifted = samples[-1].gt_landmarks.numpy().copy()
    shifted[2, 0] += 1
    helpers.predict_parts(samples[-1], shifted)
    # identity regression is exact on the 12 train images; error = 1 px / IOD at 128 px / 5
    # landmarks on one of the two test images
    iod = np.linalg.norm(landmarks_of('000202.jpg')[0] - landmarks_of('000202.jpg')[1]) / 2
    expected = (1 / iod / 5 + 0) / 2 * 100
    np.testing.assert_allclose(float(samples[-1].landmark_norm[0]), iod, rtol=1e-6)
    result = helpers.evaluate(cfg.test_evaluator, samples)
    np.testing.assert_allclose(result['parts/landmark_error'], expected, rtol=1e-6)

    train = helpers.build_dataset(cfg.train_dataloader.dataset)
    assert len(train) == 14 and train[0]['inputs'].shape == (3, 128, 128)


def test_aligned_base_config_builds(celeba_root, helpers, partseg_scope):
    cfg = helpers.load_base('celeba_aligned', celeba_root)
    dataset = helpers.build_dataset(cfg.test_dataloader.dataset)
    assert len(dataset) == 13 + 3
    sample = dataset[15]['data_samples']
    assert tuple(sample.ori_shape) == (44, 36) and tuple(sample.img_shape) == (128, 128)
    # (10, 20) / (26, 20) eyes at 36 x 44 -> scaled by (128 / 36, 128 / 44)
    np.testing.assert_allclose(sample.landmark_norm.numpy(), [16 * 128 / 36] * 2, rtol=1e-6)
