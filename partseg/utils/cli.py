"""Shared plumbing of the command-line tools: one-line errors, config loading, weight loading.

Every tool runs its ``main`` through :func:`run_tool`: a mistake of the user (a missing file, an
unknown config key, a wrong K, a corrupt image, a checkpoint of another model) ends the process
with exit status 1 and a single line ``partseg: error: <what and where>`` on stderr instead of a
traceback. ``PARTSEG_DEBUG=1`` shows the full traceback.
"""
import os
import os.path as osp
import pickle
import sys
import time
from typing import Callable, Dict, List, Optional, Sequence

from mmengine.config import Config, DictAction

__all__ = [
    'UserError', 'run_tool', 'one_line', 'load_config', 'add_cfg_options_argument',
    'check_state_dict_fits', 'use_mixed_precision', 'DictAction'
]

# Exceptions that, raised while a tool runs, describe a problem with the user's input.
_USER_ERRORS = (FileNotFoundError, NotADirectoryError, IsADirectoryError, PermissionError, KeyError,
                ValueError, TypeError, pickle.UnpicklingError, ImportError, OSError,
                FloatingPointError)


class UserError(Exception):
    """A problem with the user's input, reported as one line."""


def use_mixed_precision(optim_cfg, device_type: str) -> str:
    """Switch every optimizer-wrapper config of ``optim_cfg`` (a single one, or one per
    sub-module) to mixed precision on ``device_type`` (``--amp`` of ``tools/train.py`` and
    ``benchmark_train.py``); returns what was chosen, e.g. ``'AmpOptimWrapper-bfloat16'``.

    On a GPU: MMEngine's ``AmpOptimWrapper`` in bf16 where the GPU supports it, else fp16 with
    dynamic loss scaling. Elsewhere: ``AutocastOptimWrapper`` in bf16 (no loss scaler needed),
    with a one-line warning on a CPU that oneDNN says has no bf16 support (emulated: slower than
    fp32)."""
    import torch
    subs = [optim_cfg] if 'optimizer' in optim_cfg else [
        v for v in optim_cfg.values() if isinstance(v, dict) and 'optimizer' in v
    ]
    if not subs:
        raise UserError('--amp: optim_wrapper has no optimizer to wrap (expected '
                        'optim_wrapper.optimizer or optim_wrapper.<name>.optimizer)')
    if device_type == 'cuda':
        kind = 'AmpOptimWrapper'
        dtype = 'bfloat16' if torch.cuda.is_bf16_supported() else 'float16'
    else:
        kind, dtype = 'AutocastOptimWrapper', 'bfloat16'
        if device_type == 'cpu' and not torch.ops.mkldnn._is_mkldnn_bf16_supported():
            print(
                'partseg: warning: --amp: this CPU has no bf16 support in oneDNN; bf16 runs '
                'emulated, slower than fp32',
                file=sys.stderr)
    for sub in subs:
        sub['type'] = kind
        sub['dtype'] = dtype
        if dtype == 'float16':
            sub.setdefault('loss_scale', 'dynamic')
    return f'{kind}-{dtype}'


def one_line(error: BaseException) -> str:
    """The message of ``error`` on one line (KeyError's quotes removed; of an error raised in a
    DataLoader worker, only the worker's own message)."""
    text = error.args[0] if isinstance(error, KeyError) and error.args else str(error)
    text = str(text)
    if 'in DataLoader worker process' in text and 'Original Traceback' in text:
        last = [line for line in text.strip().splitlines() if line.strip()][-1].strip()
        name, sep, message = last.partition(': ')
        text = message if sep and name.replace('.', '').replace('_', '').isalnum() else last
    text = ' '.join(text.split())
    return text or type(error).__name__


def run_tool(main: Callable[[], Optional[int]], argv: Optional[Sequence[str]] = None) -> None:
    """Run ``main`` and exit; user errors become ``partseg: error: <msg>`` and exit status 1."""
    try:
        status = main() if argv is None else main(argv)
    except KeyboardInterrupt:
        print('partseg: interrupted', file=sys.stderr)
        sys.exit(130)
    except (UserError, ) + _USER_ERRORS as error:
        if os.environ.get('PARTSEG_DEBUG'):
            raise
        print(f'partseg: error: {one_line(error)}', file=sys.stderr)
        sys.exit(1)
    sys.exit(status or 0)


def add_cfg_options_argument(parser) -> None:
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config entries, key=value pairs such as train_cfg.max_iters=200 '
        'model.num_parts=8 (lists: key="[a,b]")')


def load_config(path: str, cfg_options: Optional[Dict] = None) -> Config:
    """Read a config file, merge ``--cfg-options`` and check every overridden key exists.

    An override may only replace an existing entry or add a key to a dict that already exists;
    ``train_cfg.max_iter=10`` (a typo of ``max_iters``) is refused naming the key and the closest
    existing one. Keys of component dicts (those with a ``type``) may be new: their constructors
    check them when the component is built. A top-level variable of the file that nothing reads
    after parsing (``data_root``, ``stage1_checkpoint``: their values were copied into the entries
    that use them when the file was read) is refused naming what to set instead. A dataloader's
    ``persistent_workers`` follows an overridden ``num_workers=0`` (:func:`follow_num_workers`).
    ``path`` may name a config that ships with partseg by its repository-relative name
    (``configs/dispart/synthetic_k4.py``), found in an installed package too
    (:func:`partseg.utils.shipped_files.find_config`).
    """
    from .shipped_files import find_config
    path = find_config(path)  # configs/dispart/synthetic_k4.py also from an installed package
    if not osp.isfile(path):
        raise UserError(f'config file not found: {path}')
    try:
        cfg = Config.fromfile(path)
    except (SyntaxError, NameError) as error:
        raise UserError(f'cannot read config {path}: {one_line(error)}') from None
    if cfg_options:
        for key, value in cfg_options.items():
            _check_not_a_variable(cfg, key, path)
            _check_override_key(cfg, key, path)
            _check_override_type(cfg, key, value, path)
        cfg.merge_from_dict(cfg_options)
        follow_num_workers(cfg, cfg_options)
    return cfg


#: Top-level config keys that something reads after the file is parsed: MMEngine's ``Runner``
#: (``Runner.from_cfg`` and what it passes on) and partseg's tools and API. Every other top-level
#: name of a config file is a variable (``data_root = 'data/celeba'``) whose value the file copied
#: into the entries that use it.
READ_TOP_LEVEL_KEYS = frozenset({
    'model', 'work_dir', 'train_dataloader', 'val_dataloader', 'test_dataloader', 'train_cfg',
    'val_cfg', 'test_cfg', 'auto_scale_lr', 'optim_wrapper', 'param_scheduler', 'val_evaluator',
    'test_evaluator', 'default_hooks', 'custom_hooks', 'data_preprocessor', 'load_from', 'resume',
    'launcher', 'env_cfg', 'log_processor', 'log_level', 'visualizer', 'default_scope',
    'randomness', 'experiment_name', 'runner_type', 'custom_imports', 'sync_bn',
    'model_wrapper_cfg', 'find_unused_parameters', 'compile', 'activation_checkpointing',
    'efficient_conv_bn_eval', 'strategy', 'inference_pipeline'
})

#: What to use instead of overriding a config variable that nothing reads.
_VARIABLE_HINTS = {
    'data_root': 'use --data-root DIR (tools/train.py, test.py, infer.py), which sets the '
    'data_root of every dataset',
    'stage1_checkpoint': 'use tools/train.py --stage1-checkpoint CKPT (it sets '
    'train_dataloader.dataset.checkpoint)',
    'vis_backends': 'use tools/train.py --vis-backend tensorboard, or set visualizer.vis_backends',
}


def _check_not_a_variable(cfg: Config, key: str, path: str) -> None:
    """Refuse an override of a top-level config variable (one-line error naming what to set)."""
    top = key.split('.', 1)[0]
    if top in READ_TOP_LEVEL_KEYS or top not in cfg:
        return
    if top == 'test_pipeline' and not cfg.get('test_dataloader'):
        return  # the API's fallback pipeline when a config has no test_dataloader
    hint = _VARIABLE_HINTS.get(top)
    if hint is None:
        users = _entries_using(cfg.to_dict(), top, cfg[top])
        shown = ', '.join(users[:6]) + (' ...' if len(users) > 6 else '')
        hint = 'set the entries that use it instead' + (f': {shown}' if users else '')
    raise UserError(f'--cfg-options {key}: {top} is a variable of {path}, used only while the '
                    f'file is read, so overriding it changes nothing; {hint}')


def _entries_using(tree: dict, name: str, value) -> List[str]:
    """Dotted paths below the top level of ``tree`` whose key is ``name`` or, for a text
    ``value``, whose text starts with ``value`` (``data_root + '/train'``)."""
    found: List[str] = []

    def walk(node, prefix):
        if isinstance(node, dict):
            items = node.items()
        elif isinstance(node, (list, tuple)):
            items = enumerate(node)
        else:
            return
        for k, v in items:
            dotted = f'{prefix}.{k}' if prefix else str(k)
            same_text = isinstance(value, str) and value and isinstance(v,
                                                                        str) and v.startswith(value)
            if prefix and (k == name or same_text):
                found.append(dotted)
            walk(v, dotted)

    walk({k: v for k, v in tree.items() if k != name}, '')
    return found


#: The dataloaders of a config, in the order a run uses them.
DATALOADER_KEYS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def follow_num_workers(cfg: Config, cfg_options: Optional[Dict] = None) -> None:
    """``persistent_workers`` follows ``num_workers=0`` (there are no workers to keep).

    PyTorch refuses ``persistent_workers=True`` without worker processes. When a dataloader has
    ``num_workers=0``, its ``persistent_workers`` becomes False, unless the overrides set it True
    explicitly: then a one-line error names ``<loader>.persistent_workers``.
    """
    options = cfg_options or {}
    for name in DATALOADER_KEYS:
        loader = cfg.get(name)
        if not isinstance(loader, dict) or loader.get('num_workers', None) != 0:
            continue
        if not loader.get('persistent_workers', False):
            continue
        if options.get(f'{name}.persistent_workers') is True:
            raise UserError(f'--cfg-options {name}.persistent_workers=True needs '
                            f'{name}.num_workers > 0 (it is 0): there are no worker processes '
                            f'to keep')
        loader['persistent_workers'] = False


def _datasets(node) -> List[dict]:
    """``node`` (a dataset config) and every dataset it wraps (``ConcatDataset.datasets``,
    ``RepeatDataset.dataset``, ...), depth first."""
    if not isinstance(node, dict):
        return []
    found = [node]
    found += _datasets(node.get('dataset'))
    for item in node.get('datasets') or []:
        found += _datasets(item)
    return found


def config_datasets(cfg: Config, loaders: Sequence[str] = DATALOADER_KEYS) -> List[dict]:
    """The dataset dicts (wrapped ones included) of the config's dataloaders ``loaders``."""
    found: List[dict] = []
    for name in loaders:
        loader = cfg.get(name)
        if isinstance(loader, dict):
            found += _datasets(loader.get('dataset'))
    return found


def set_data_root(cfg: Config, data_root: str) -> int:
    """``--data-root DIR``: point every dataset of the config (train, val and test, wrapped ones
    included) at ``DIR``; returns how many were set.

    A dataset whose ``data_root`` extends the config's ``data_root`` variable (taichi's training
    images are ``data_root + '/train'``) keeps the extension: ``DIR/train``. A missing folder, or a
    config without any dataset that reads a ``data_root`` (the embedded synthetic data, GANSeg's
    generated pairs), is refused in one line.
    """
    if not osp.isdir(data_root):
        raise UserError(f'--data-root: folder not found: {data_root}')
    base = cfg.get('data_root') if isinstance(cfg.get('data_root'), str) else None
    count = 0
    for dataset in config_datasets(cfg):
        old = dataset.get('data_root')
        if not isinstance(old, str):
            continue
        rest = old[len(base):] if base and old.startswith(base) else ''
        dataset['data_root'] = data_root.rstrip('/') + rest if rest else data_root
        count += 1
    if not count:
        raise UserError(f'--data-root: no dataset of {cfg.filename} reads a data_root (its data '
                        f'is rendered or generated, not read from a folder)')
    return count


def set_stage1_checkpoint(cfg: Config, checkpoint: str) -> None:
    """``--stage1-checkpoint CKPT``: the ``checkpoint`` of every training dataset that samples
    from a trained model (GANSeg stage 2's generated pairs); a one-line error for a config that
    has none, or a missing file."""
    if not osp.isfile(checkpoint):
        raise UserError(f'--stage1-checkpoint: checkpoint not found: {checkpoint}')
    datasets = [d for d in config_datasets(cfg, ('train_dataloader', )) if 'checkpoint' in d]
    if not datasets:
        raise UserError(f'--stage1-checkpoint: {cfg.filename} is not a stage-2 config (none of '
                        f'its training datasets takes a checkpoint)')
    for dataset in datasets:
        dataset['checkpoint'] = checkpoint


def add_data_root_argument(parser) -> None:
    parser.add_argument(
        '--data-root',
        metavar='DIR',
        help='the dataset folder: sets the data_root of every dataset of the config (train, '
        'val, test), e.g. --data-root /datasets/CUB_200_2011')


def stage2_config_hint(config_path: str) -> str:
    """The stage-2 config beside a stage-1 config (``cub_k8.py`` -> ``cub_k8_stage2.py``) if it
    exists, else the pattern."""
    stem, ext = osp.splitext(str(config_path))
    candidate = f'{stem}_stage2{ext}'
    return candidate if osp.isfile(candidate) else f'its stage-2 config ({osp.basename(stem)}' \
        f'_stage2.py)'


def _check_override_key(cfg: Config, key: str, path: str) -> None:
    node, parts = cfg.to_dict(), key.split('.')
    for depth, part in enumerate(parts):
        if isinstance(node, (list, tuple)) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
            continue
        if not isinstance(node, dict):
            raise UserError(f'--cfg-options {key}: {".".join(parts[:depth])} is not a dict in '
                            f'{path}')
        if part in node:
            node = node[part]
            continue
        is_last = depth == len(parts) - 1
        if is_last and 'type' in node:
            return  # a new argument of a component: its constructor validates it
        if depth == 0 and part in READ_TOP_LEVEL_KEYS:
            return  # a top-level key MMEngine reads, absent from this file (sync_bn='torch')
        close = _closest(part, list(node.keys()))
        hint = f' (did you mean {".".join(parts[:depth] + [close])}?)' if close else ''
        raise UserError(f'--cfg-options {key}: unknown config key {".".join(parts[:depth + 1])} '
                        f'in {path}{hint}')


def _check_override_type(cfg: Config, key: str, value, path: str) -> None:
    """Refuse a text override of an entry that holds a number or a bool (``max_iters=abc``)."""
    node = cfg.to_dict()
    for part in key.split('.'):
        if isinstance(node, (list, tuple)) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return  # a new key: nothing to compare with
    if isinstance(value, str) and isinstance(node, (bool, int, float)) and node is not None:
        kind = ('True or False' if isinstance(node, bool) else
                'an integer' if isinstance(node, int) else 'a number')
        raise UserError(f'--cfg-options {key}={value}: {key} must be {kind} (it is {node!r} in '
                        f'{path})')


def _closest(word: str, candidates: List[str]) -> Optional[str]:
    import difflib
    found = difflib.get_close_matches(word, [str(c) for c in candidates], n=1, cutoff=0.6)
    return found[0] if found else None


def wait_for_unused_timestamp(work_dir: str) -> None:
    """Wait until no ``<work_dir>/<YYYYmmdd_HHMMSS>`` folder of the current second exists.

    MMEngine names each run's log folder after the wall-clock second it starts in; two runs that
    start within one second would share (and append to) one folder, mixing their logs.
    """
    while osp.isdir(osp.join(work_dir, time.strftime('%Y%m%d_%H%M%S', time.localtime()))):
        time.sleep(0.05)


def check_state_dict_fits(model, state_dict: Dict, checkpoint: str) -> None:
    """Refuse, in one line, a checkpoint whose weights do not fit ``model`` (other method or K)."""
    own = model.state_dict()
    missing = [k for k in own if k not in state_dict]
    unexpected = [k for k in state_dict if k not in own]
    mismatched = [(k, tuple(state_dict[k].shape), tuple(v.shape)) for k, v in own.items()
                  if k in state_dict and hasattr(state_dict[k], 'shape')
                  and tuple(state_dict[k].shape) != tuple(v.shape)]
    model_name = type(model).__name__
    if missing and len(missing) == len(own):
        modules = sorted({str(k).split('.', 1)[0] for k in state_dict})
        raise UserError(f'checkpoint {checkpoint} holds no weights of {model_name} (first of its '
                        f'{len(state_dict)} keys: {next(iter(state_dict), None)}; its modules: '
                        f'{", ".join(modules[:6])}): it is a checkpoint of another model')
    if mismatched:
        key, theirs, ours = mismatched[0]
        raise UserError(f'checkpoint {checkpoint} does not fit {model_name}: {key} is {theirs} '
                        f'in the checkpoint but {ours} in the model ({len(mismatched)} such '
                        f'tensors; was it trained with another num_parts K or architecture?)')
    if missing or unexpected:
        raise UserError(f'checkpoint {checkpoint} does not fit {model_name}: {len(missing)} '
                        f'missing keys (e.g. {missing[:1]}), {len(unexpected)} unexpected keys '
                        f'(e.g. {unexpected[:1]}); is it a checkpoint of another method?')
