"""The bad-input table (issue 6): every mistake ends ``tools/train.py`` / ``tools/test.py`` with
exit status 1 and one line ``partseg: error: ...`` naming the culprit, and leaves what an earlier
run wrote (checkpoints, ``last_checkpoint``, logs) byte for byte as it was. Images that can be
decoded sensibly (alpha, greyscale, 16-bit, palette, CMYK) are converted with a warning instead.

The tools run in this process through :func:`partseg.utils.cli.run_tool` (what their
``__main__`` does), against the work dir of a real 2-iteration DisPart run.
"""
import contextlib
import errno
import hashlib
import importlib.util
import os
import os.path as osp
import random
import shutil
import struct
import zlib
from types import SimpleNamespace

import mmengine.config.config as mmengine_config
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MessageHub, MMLogger
from mmengine.registry import DefaultScope
from mmengine.visualization import Visualizer
from PIL import Image

from partseg.registry import MODELS
from partseg.utils.cli import run_tool
from partseg.visualization import PartVisualizer

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = osp.join(ROOT, 'tests', 'data', 'configs')
TINY = osp.join(CONFIGS, 'dispart_tiny.py')
GANSEG_TINY = osp.join(CONFIGS, 'ganseg_tiny.py')
STAGE2_TINY = osp.join(CONFIGS, 'ganseg_tiny_stage2.py')
PIPELINE = [
    dict(type='LoadPartImage'),
    dict(type='ResizeParts', scale=(32, 32)),
    dict(type='PackPartInputs'),
]
NO_VALIDATION = dict(val_dataloader=None, val_cfg=None, val_evaluator=None)
CELEBA_HEADER = ('lefteye_x lefteye_y righteye_x righteye_y nose_x nose_y leftmouth_x '
                 'leftmouth_y rightmouth_x rightmouth_y')


def load_tool(name):
    spec = importlib.util.spec_from_file_location(f'partseg_tool_{name}',
                                                  osp.join(ROOT, 'tools', f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


TOOLS = dict(train=load_tool('train'), test=load_tool('test'))


@contextlib.contextmanager
def isolated():
    """Undo what a Runner leaves in this process: singletons, log handlers, torch's global
    determinism flag and generators; skip yapf's config formatting (0.5 s a call, log text only)."""
    deterministic = torch.are_deterministic_algorithms_enabled()
    threads = torch.get_num_threads()
    states = torch.get_rng_state(), np.random.get_state(), random.getstate()
    format_code = mmengine_config.FormatCode
    mmengine_config.FormatCode = lambda text, **_: (text, False)
    try:
        yield
    finally:
        mmengine_config.FormatCode = format_code
        torch.use_deterministic_algorithms(deterministic)
        torch.set_num_threads(threads)
        torch.set_rng_state(states[0])
        np.random.set_state(states[1])
        random.setstate(states[2])
        for logger in MMLogger._instance_dict.values():
            for handler in list(logger.handlers):
                handler.close()
                logger.removeHandler(handler)
        for manager in (DefaultScope, MessageHub, Visualizer, PartVisualizer, MMLogger):
            manager._instance_dict.clear()


def run(tool, argv, capsys):
    """Run tools/<tool>.py with ``argv`` here; (exit status, stdout, stderr)."""
    capsys.readouterr()
    with isolated(), pytest.raises(SystemExit) as exited:
        run_tool(TOOLS[tool].main, [str(a) for a in argv])
    out, err = capsys.readouterr()
    return exited.value.code, out, err


def write_config(path, base, **overrides):
    """A config inheriting ``base`` with top-level ``overrides`` (merged as MMEngine merges)."""
    lines = [f'_base_ = [{base!r}]'] + [f'{k} = {v!r}' for k, v in overrides.items()]
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return str(path)


def snapshot(work_dir):
    """sha256 of every file in ``work_dir`` except the top-level config copy, which MMEngine
    rewrites at the start of every run in the work dir (each run keeps its own config in
    ``<timestamp>/vis_data/config.py``)."""
    found = {}
    for folder, _, files in os.walk(work_dir):
        for name in files:
            path = osp.join(folder, name)
            rel = osp.relpath(path, work_dir)
            if rel.endswith('.py') and os.sep not in rel:
                continue
            with open(path, 'rb') as f:
                found[rel] = hashlib.sha256(f.read()).hexdigest()
    return found


# --------------------------------------------------------------------------------------------
# files the cases use


def png_header_only(path, width, height):
    """A PNG whose header claims ``width`` x ``height`` and whose pixel data is empty."""

    def chunk(tag, data):
        return (struct.pack('>I', len(data)) + tag + data +
                struct.pack('>I',
                            zlib.crc32(tag + data) & 0xffffffff))

    ihdr = struct.pack('>IIBBBBB', width, height, 8, 2, 0, 0, 0)
    with open(path, 'wb') as f:
        f.write(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', ihdr) + chunk(b'IDAT', zlib.compress(b'')) +
                chunk(b'IEND', b''))


def image_folder(tmp, name, write):
    """A folder holding one file ``name`` written by ``write(path)``; returns (folder, path)."""
    folder = tmp / 'images'
    folder.mkdir()
    path = folder / name
    write(path)
    return folder, path


def truncated_jpeg(path):
    Image.new('RGB', (40, 40), (200, 30, 60)).save(path, quality=95)
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])


def write_celeba(root, rows=None, image_size=(36, 44), listed=('000001.jpg', '000002.jpg')):
    """CelebA's aligned layout, tiny: two images, their landmark rows, the train split list."""
    rows = rows or [f'{name} 10 12 26 12 18 22 12 32 24 32' for name in listed]
    for name in listed:
        path = root / 'Img' / 'img_align_celeba' / name
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.new('RGB', image_size, (90, 140, 60)).save(path)
    (root / 'Anno').mkdir(parents=True, exist_ok=True)
    (root / 'Anno' / 'list_landmarks_align_celeba.txt'
     ).write_text('\n'.join([str(len(rows)), CELEBA_HEADER] + rows) + '\n')
    (root / 'splits').mkdir(parents=True, exist_ok=True)
    (root / 'splits' / 'celeba_aligned_train.txt').write_text('\n'.join(listed) + '\n')
    return root


class SystemCall:
    """Unpickling this would run ``touch <marker>`` through ``os.system``."""

    def __init__(self, marker) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return os.system, (f'touch {self.marker}', )


# --------------------------------------------------------------------------------------------
# fixtures


@pytest.fixture(scope='module')
def env(tmp_path_factory):
    """Configs, a trained DisPart work dir (checkpoint at 2 iterations) and a GANSeg checkpoint."""
    root = tmp_path_factory.mktemp('bad_inputs')
    configs = root / 'configs'
    configs.mkdir()
    tiny = write_config(configs / 'tiny.py', TINY, **NO_VALIDATION)
    folder = write_config(
        configs / 'folder.py',
        tiny,
        train_dataloader=dict(
            dataset=dict(
                _delete_=True, type='ImageFolderDataset', data_root='unset', pipeline=PIPELINE)))
    celeba = write_config(
        configs / 'celeba.py',
        tiny,
        train_dataloader=dict(
            dataset=dict(
                _delete_=True,
                type='CelebADataset',
                data_root='unset',
                protocol='aligned',
                split='train',
                pipeline=PIPELINE)))
    perceptual = write_config(
        configs / 'perceptual.py',
        tiny,
        model=dict(
            reconstruction_loss=dict(
                _delete_=True, type='PerceptualLoss', pretrained=str(root / 'no' / 'vgg19.pth'))))
    work_dir = root / 'trained'
    with isolated():
        with pytest.raises(SystemExit) as exited:
            run_tool(TOOLS['train'].main,
                     [tiny, '--work-dir',
                      str(work_dir), '--cfg-options', 'train_cfg.max_iters=2'])
    assert exited.value.code == 0
    assert osp.isfile(work_dir / 'iter_2.pth')
    written = snapshot(work_dir)
    assert {'iter_2.pth', 'last_checkpoint'} <= set(written)
    assert any(name.endswith('.log') for name in written)
    # a GANSeg stage-1 checkpoint (untrained weights and its config, as the runner stores them)
    ganseg_cfg = Config.fromfile(GANSEG_TINY)
    with isolated(), DefaultScope.overwrite_default_scope('partseg'):
        ganseg = MODELS.build(ganseg_cfg.model)
    ganseg_ckpt = root / 'ganseg_iter_4.pth'
    torch.save(
        dict(meta=dict(cfg=ganseg_cfg.pretty_text, iter=4), state_dict=ganseg.state_dict()),
        ganseg_ckpt)
    return SimpleNamespace(
        root=root,
        tiny=tiny,
        folder=folder,
        celeba=celeba,
        perceptual=perceptual,
        work_dir=work_dir,
        written=written,
        ganseg_ckpt=ganseg_ckpt)


# --------------------------------------------------------------------------------------------
# the table: case(env, tmp) -> (tool, argv, fragments of the error line)


def _folder_case(name, write, *fragments, options=()):

    def case(env, tmp):
        folder, path = image_folder(tmp, name, write)
        argv = [
            env.folder, '--cfg-options', f'train_dataloader.dataset.data_root={folder}', *options
        ]
        return 'train', argv, [f.format(path=path, folder=folder) for f in fragments]

    return case


def _celeba_case(prepare, *fragments):

    def case(env, tmp):
        root = tmp / 'celeba'
        root.mkdir()
        culprit = prepare(root)
        argv = [env.celeba, '--cfg-options', f'train_dataloader.dataset.data_root={root}']
        return 'train', argv, [f.format(root=root, culprit=culprit) for f in fragments]

    return case


def _options_case(*options_and_fragments):
    *options, fragments = options_and_fragments

    def case(env, tmp):
        return 'train', [env.tiny, '--cfg-options', *options], fragments

    return case


def _celeba_malformed(root):
    write_celeba(root, rows=['000001.jpg 10 12 26 12 18 22 12 32 24 32', '000002.jpg 10 12 26'])
    return root / 'Anno' / 'list_landmarks_align_celeba.txt'


def _celeba_non_numeric(root):
    write_celeba(
        root,
        rows=[
            '000001.jpg 10 12 26 12 18 22 12 32 24 32', '000002.jpg 10 12 26 12 18 x 12 32 24 32'
        ])
    return root / 'Anno' / 'list_landmarks_align_celeba.txt'


def _celeba_missing_image(root):
    write_celeba(root)
    os.remove(root / 'Img' / 'img_align_celeba' / '000002.jpg')
    return root / 'Img' / 'img_align_celeba' / '000002.jpg'


def _celeba_no_row(root):
    write_celeba(root, rows=['000001.jpg 10 12 26 12 18 22 12 32 24 32'])
    return root / 'Anno' / 'list_landmarks_align_celeba.txt'


def _celeba_landmark_outside(root):
    # the nose at x = 90 in a 36 px wide image
    write_celeba(root, rows=['000002.jpg 10 12 26 12 90 10 12 32 24 32'], listed=['000002.jpg'])
    return root / 'Img' / 'img_align_celeba' / '000002.jpg'


def _celeba_no_anno(root):
    write_celeba(root)
    shutil.rmtree(root / 'Anno')
    return root / 'Anno' / 'list_landmarks_align_celeba.txt'


def _celeba_no_split(root):
    write_celeba(root)
    os.remove(root / 'splits' / 'celeba_aligned_train.txt')
    return root / 'splits' / 'celeba_aligned_train.txt'


def _config_not_found(env, tmp):
    return 'train', [tmp / 'no_such_config.py'], ['config file not found', 'no_such_config.py']


def _config_syntax_error(env, tmp):
    path = tmp / 'broken.py'
    path.write_text("model = dict(type='DisPart'\n")
    return 'train', [path], ['cannot read config', str(path)]


def _resume_missing(env, tmp):
    return 'train', [env.tiny, '--resume',
                     tmp / 'missing.pth'], ['--resume: checkpoint not found', 'missing.pth']


def _damaged_copy(env, tmp, damage):
    path = tmp / 'iter_2.pth'
    shutil.copy(env.work_dir / 'iter_2.pth', path)
    damage(path)
    return path


def _resume_truncated(env, tmp):
    path = _damaged_copy(env, tmp, lambda p: p.write_bytes(p.read_bytes()[:4096]))
    return 'train', [env.tiny, '--resume',
                     path], [f'cannot load checkpoint {path}', 'truncated or damaged zip archive']


def _resume_zero_bytes(env, tmp):
    path = _damaged_copy(env, tmp, lambda p: p.write_bytes(b''))
    return 'train', [env.tiny, '--resume', path], [f'cannot load checkpoint {path}', 'empty']


def _resume_malicious(env, tmp):
    path = tmp / 'evil.pth'
    torch.save(dict(state_dict=SystemCall(tmp / 'pwned')), path)
    return 'train', [env.tiny, '--resume',
                     path], [f'refusing to load checkpoint {path}', 'posix.system', 'allow-list']


def _resume_other_k(env, tmp):
    ckpt = env.work_dir / 'iter_2.pth'
    return 'train', [
        env.tiny, '--resume', ckpt, '--cfg-options', 'model.num_parts=3',
        'model.classification_loss.num_classes=3'
    ], [
        f'cannot resume: checkpoint {ckpt} does not fit DisPart',
        'part_head.weight is (5, 16, 1, 1) in the checkpoint but (4, 16, 1, 1)', 'num_parts'
    ]


def _resume_other_method(env, tmp):
    return 'train', [env.tiny, '--resume', env.ganseg_ckpt], [
        f'cannot resume: checkpoint {env.ganseg_ckpt} holds no weights of DisPart',
        'checkpoint of another model'
    ]


def _load_from_other_method(env, tmp):
    return 'train', [env.tiny, '--cfg-options', f'load_from={env.ganseg_ckpt}'
                     ], [f'checkpoint {env.ganseg_ckpt} holds no weights of DisPart']


def _load_from_missing(env, tmp):
    return 'train', [env.tiny, '--cfg-options', f'load_from={tmp / "gone.pth"}'
                     ], [f'checkpoint not found: {tmp / "gone.pth"}']


def _missing_pretrained(env, tmp):
    return 'train', [env.perceptual], [
        'model.reconstruction_loss.pretrained: pretrained VGG-19 file not found: '
        f'{env.root / "no" / "vgg19.pth"}'
    ]


def _pretrained_url_unreachable(env, tmp):
    # a URL nothing answers (the discard port of this machine) and a file name no hub cache holds:
    # what an offline machine meets for torchvision's URL in the paper configs
    url = 'https://127.0.0.1:9/partseg-test-missing-vgg19.pth'
    return 'train', [
        env.perceptual, '--cfg-options', f'model.reconstruction_loss.pretrained={url}'
    ], [
        'model.reconstruction_loss.pretrained: partseg-test-missing-vgg19.pth is '
        "not in torch's hub cache and cannot be downloaded", f'put {url} into ',
        'or set model.reconstruction_loss.pretrained='
        '/path/to/partseg-test-missing-vgg19.pth'
    ]


def _test_tool_other_method(env, tmp):
    return 'test', [env.tiny, env.ganseg_ckpt, '--work-dir',
                    tmp / 'test'], [f'checkpoint {env.ganseg_ckpt} holds no weights of DisPart']


def _stage2(env, tmp, checkpoint, *options):
    return [
        STAGE2_TINY, '--cfg-options', f'train_dataloader.dataset.checkpoint={checkpoint}', *options
    ]


def _stage2_missing_stage1(env, tmp):
    missing = tmp / 'stage1' / 'iter_1000.pth'
    return 'train', _stage2(env, tmp, missing), [f'checkpoint not found: {missing}']


def _stage2_dispart_checkpoint(env, tmp):
    ckpt = env.work_dir / 'iter_2.pth'
    return 'train', _stage2(env, tmp, ckpt), [f'{ckpt}: the checkpoint holds no generator weights']


def _stage2_other_k(env, tmp):
    return 'train', _stage2(env, tmp, env.ganseg_ckpt, 'train_dataloader.dataset.num_parts=3',
                            'model.decode_head.num_classes=4'), [
                                'num_parts=3 (K of the stage-2 config)',
                                f'{env.ganseg_ckpt} has K=4'
                            ]


def _work_dir_under_a_file(env, tmp):
    blocker = tmp / 'a_file'
    blocker.write_text('not a folder')
    return 'train', [env.tiny, '--work-dir', blocker / 'work'
                     ], [f'cannot create work dir {blocker / "work"}', 'Not a directory']


def _work_dir_is_a_file(env, tmp):
    blocker = tmp / 'a_file'
    blocker.write_text('not a folder')
    return 'train', [env.tiny, '--work-dir', blocker], [f'cannot create work dir {blocker}']


def _overflowing_loss(env, tmp):
    # resumed at iteration 2, a loss weight beyond float32 makes loss_rec infinite at once
    return 'train', [
        env.tiny, '--resume', '--cfg-options', 'train_cfg.max_iters=4',
        'model.reconstruction_loss.loss_weight=1e39'
    ], [
        'non-finite or overflowing training values at iteration 3', 'loss_rec=inf',
        f'the last checkpoint, {env.work_dir / "iter_2.pth"}, is the last good one (checked)'
    ]


def _huge_loss_weight(env, tmp):
    # finite (about 1e29) but beyond the overflow limit: it used to train on with inf Adam state
    return 'train', [
        env.tiny, '--resume', '--cfg-options', 'train_cfg.max_iters=4',
        'model.reconstruction_loss.loss_weight=1e30'
    ], [
        'overflowing training values at iteration 3', 'beyond the overflow limit 1.84e+19',
        f'the last checkpoint, {env.work_dir / "iter_2.pth"}, is the last good one (checked)'
    ]


def _disk_full(env, tmp):
    return 'train', [env.tiny, '--resume', '--cfg-options', 'train_cfg.max_iters=4'
                     ], [f'cannot write {env.work_dir / "iter_4.pth"}', 'No space left on device']


CASES = {
    # image files: ImageFolderDataset + LoadPartImage
    'truncated-jpeg':
    _folder_case('a.jpg', truncated_jpeg, 'cannot read image {path}: '),
    'zero-byte-jpeg':
    _folder_case('a.jpg', lambda p: p.write_bytes(b''), 'cannot read image {path}: empty file'),
    'zero-byte-png':
    _folder_case('a.png', lambda p: p.write_bytes(b''), 'cannot read image {path}: empty file'),
    'text-named-png':
    _folder_case('notes.png', lambda p: p.write_text('hello'),
                 'cannot read image {path}: not a readable image'),
    'png-with-garbage-data':
    _folder_case('a.png', lambda p: p.write_bytes(b'\x89PNG\r\n\x1a\n' + bytes(range(256)) * 4),
                 'cannot read image {path}'),
    'decompression-bomb':
    _folder_case('huge.png', lambda p: png_header_only(p, 40000, 40000), 'cannot read image {path}',
                 'decompression bomb'),
    'huge-image':
    _folder_case('big.png', lambda p: png_header_only(p, 10000, 10000),
                 'image {path} is 10000x10000 pixels', 'more than max_pixels=89478485'),
    '1x1-image':
    _folder_case('dot.png', lambda p: Image.new('RGB', (1, 1)).save(p),
                 'image {path} is 1x1 pixels', 'smaller than min_size=16'),
    'broken-symlink':
    _folder_case('gone.jpg', lambda p: os.symlink(p.parent / 'nowhere.jpg', p),
                 'image file not found: {path}'),
    'no-image-in-folder':
    _folder_case('readme.txt', lambda p: p.write_text('no images here'), 'no images',
                 'found in data_root folder {folder}'),
    'missing-data-root':
    lambda env, tmp: ('train', [
        env.folder, '--cfg-options', f'train_dataloader.dataset.data_root={tmp / "nowhere"}'
    ], [f'data_root folder not found: {tmp / "nowhere"}']),
    # PyTorch wraps an error of a DataLoader worker in a multi-line message with a traceback
    'error-in-loader-worker':
    pytest.param(
        _folder_case(
            'a.jpg',
            truncated_jpeg,
            'cannot read image {path}',
            options=['train_dataloader.num_workers=1'])),
    # real dataset layout and annotations: CelebA (aligned protocol)
    'celeba-missing-root':
    _celeba_case(lambda root: shutil.rmtree(root),
                 '{root}/Img/img_align_celeba (directory) not found', 'expected layout'),
    'celeba-wrong-layout':
    _celeba_case(_celeba_no_anno, '{culprit} not found', 'expected layout'),
    'celeba-missing-split-list':
    _celeba_case(_celeba_no_split, '{culprit} not found', 'tools/dataset_converters/celeba.py'),
    'celeba-malformed-line':
    _celeba_case(_celeba_malformed, '{culprit}:4: expected a name and 10 numbers'),
    'celeba-non-numeric-value':
    _celeba_case(_celeba_non_numeric, '{culprit}:4: non-numeric value'),
    'celeba-listed-image-missing':
    _celeba_case(_celeba_missing_image, '{culprit} not found (referred to by'),
    'celeba-image-without-annotation':
    _celeba_case(_celeba_no_row, '000002.jpg', 'has no row in {culprit}'),
    'celeba-landmark-outside-image':
    _celeba_case(_celeba_landmark_outside,
                 'image {culprit}: visible landmark 2 at (x, y) = (90, 10)',
                 'outside the 36x44 image'),
    # config and command line
    'config-not-found':
    _config_not_found,
    'config-syntax-error':
    _config_syntax_error,
    'unknown-config-key':
    _options_case('train_dataloder.batch_size=3',
                  ['unknown config key train_dataloder', 'did you mean train_dataloader']),
    'unknown-component-argument':
    _options_case('model.decoder.no_such_arg=1', ['no_such_arg']),
    'wrong-type-batch-size':
    _options_case('train_dataloader.batch_size=two', ['batch_size', 'two']),
    'wrong-type-num-parts':
    _options_case('model.num_parts=four',
                  ['model.num_parts=four: model.num_parts must be an integer']),
    'wrong-type-max-iters':
    pytest.param(
        _options_case('train_cfg.max_iters=abc',
                      ['train_cfg.max_iters must be an integer', 'abc'])),
    'k-zero':
    _options_case('model.num_parts=0', ['num_parts must be a positive integer (K >= 1), got 0']),
    'k-negative':
    _options_case('model.num_parts=-2', ['num_parts must be a positive integer (K >= 1), got -2']),
    'k-disagrees-within-config':
    _options_case('model.num_parts=3', 'model.classification_loss.num_classes=4', [
        'model.classification_loss.num_classes=4 contradicts model.num_parts=3',
        'remove model.classification_loss.num_classes'
    ]),
    # checkpoints
    'resume-missing-checkpoint':
    _resume_missing,
    'resume-truncated-checkpoint':
    _resume_truncated,
    'resume-zero-byte-checkpoint':
    _resume_zero_bytes,
    'resume-malicious-checkpoint':
    _resume_malicious,
    'resume-k-mismatch':
    _resume_other_k,
    'resume-checkpoint-of-another-method':
    _resume_other_method,
    'load-from-checkpoint-of-another-method':
    _load_from_other_method,
    'load-from-missing-checkpoint':
    _load_from_missing,
    'missing-pretrained-weights':
    _missing_pretrained,
    'pretrained-weights-not-downloadable':
    _pretrained_url_unreachable,
    'test-checkpoint-of-another-method':
    _test_tool_other_method,
    'stage2-missing-stage1-checkpoint':
    _stage2_missing_stage1,
    'stage2-stage1-checkpoint-of-another-method':
    _stage2_dispart_checkpoint,
    'stage2-k-mismatch-with-stage1':
    _stage2_other_k,
    # work dir and runtime
    'work-dir-under-a-file':
    _work_dir_under_a_file,
    'work-dir-is-a-file':
    _work_dir_is_a_file,
    'non-finite-loss':
    _overflowing_loss,
    'overflowing-loss-weight':
    _huge_loss_weight,
    'disk-full-while-saving-checkpoint':
    _disk_full,
}


@pytest.fixture
def disk_full(monkeypatch):
    """fsync of a temporary checkpoint file (``.iter_N.pth.*.tmp``) fails with ENOSPC."""
    real_fsync = os.fsync

    def fsync(fd):
        if osp.basename(os.readlink(f'/proc/self/fd/{fd}')).startswith('.iter_'):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_fsync(fd)

    monkeypatch.setattr(os, 'fsync', fsync)


@pytest.mark.parametrize('name', [
    pytest.param(name, marks=case.marks, id=name) if hasattr(case, 'marks') else pytest.param(
        name, id=name) for name, case in CASES.items()
])
def test_bad_input_gives_one_line_error_and_damages_nothing(name, env, tmp_path, capsys, request):
    case = CASES[name]
    case = case.values[0] if hasattr(case, 'values') else case
    if name == 'disk-full-while-saving-checkpoint':
        request.getfixturevalue('disk_full')
    tool, argv, fragments = case(env, tmp_path)
    if '--work-dir' not in argv:
        argv = [*argv, '--work-dir', env.work_dir]
    status, out, err = run(tool, argv, capsys)

    assert status == 1, out[-3000:] + err[-3000:]
    lines = [line for line in err.splitlines() if line.startswith('partseg: error:')]
    assert len(lines) == 1, err[-3000:]
    assert 'Traceback' not in err, err[-3000:]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    # what the training run wrote is intact (runs of other cases may add log folders)
    after = snapshot(env.work_dir)
    assert {k: v for k, v in after.items() if k in env.written} == env.written
    assert not [k for k in after if k.endswith('.tmp')], 'temporary files left behind'
    assert not osp.exists(tmp_path / 'pwned')


def test_table_is_long_enough():
    assert len(CASES) >= 30


def test_decodable_images_are_converted_with_a_warning(env, tmp_path, capsys):
    folder = tmp_path / 'images'
    folder.mkdir()
    rgba = np.zeros((40, 40, 4), dtype=np.uint8)
    rgba[..., 0], rgba[..., 3] = 200, 128
    files = {
        'alpha.png': ('RGBA', lambda p: Image.fromarray(rgba, 'RGBA').save(p)),
        'grey.png': ('L', lambda p: Image.new('L', (40, 40), 77).save(p)),
        'grey_alpha.png': ('LA', lambda p: Image.new('LA', (40, 40), (77, 200)).save(p)),
        'sixteen_bit.png':
        ('I;16', lambda p: Image.fromarray(np.full((40, 40), 40000, dtype=np.uint16)).save(p)),
        'palette.gif': ('P', lambda p: Image.new('P', (40, 40), 3).save(p)),
        'cmyk.jpg': ('CMYK', lambda p: Image.new('CMYK', (40, 40), (0, 80, 80, 0)).save(p)),
    }
    for name, (_, write) in files.items():
        write(folder / name)
    with pytest.warns(UserWarning) as warned:
        status, out, err = run('train', [
            env.folder, '--work-dir', tmp_path / 'work', '--cfg-options',
            f'train_dataloader.dataset.data_root={folder}', 'train_dataloader.batch_size=6',
            'train_cfg.max_iters=1'
        ], capsys)
    assert status == 0, err[-3000:]
    assert osp.isfile(tmp_path / 'work' / 'iter_1.pth')
    messages = [str(w.message) for w in warned]
    for name, (mode, _) in files.items():
        expected = f'{folder / name}: converted a {mode} image to RGB uint8'
        assert expected in messages, (expected, messages)
