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
    check them when the component is built.
    """
    if not osp.isfile(path):
        raise UserError(f'config file not found: {path}')
    try:
        cfg = Config.fromfile(path)
    except (SyntaxError, NameError) as error:
        raise UserError(f'cannot read config {path}: {one_line(error)}') from None
    if cfg_options:
        for key, value in cfg_options.items():
            _check_override_key(cfg, key, path)
            _check_override_type(cfg, key, value, path)
        cfg.merge_from_dict(cfg_options)
    return cfg


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
        raise UserError(f'checkpoint {checkpoint} holds no weights of {model_name} (first of its '
                        f'{len(state_dict)} keys: {next(iter(state_dict), None)}): it is a '
                        f'checkpoint of another model')
    if mismatched:
        key, theirs, ours = mismatched[0]
        raise UserError(f'checkpoint {checkpoint} does not fit {model_name}: {key} is {theirs} '
                        f'in the checkpoint but {ours} in the model ({len(mismatched)} such '
                        f'tensors; was it trained with another num_parts K or architecture?)')
    if missing or unexpected:
        raise UserError(f'checkpoint {checkpoint} does not fit {model_name}: {len(missing)} '
                        f'missing keys (e.g. {missing[:1]}), {len(unexpected)} unexpected keys '
                        f'(e.g. {unexpected[:1]}); is it a checkpoint of another method?')
