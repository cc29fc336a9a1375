"""Draw loss / metric curves of a training run from MMEngine's scalar log to a PNG.

    python tools/analysis_tools/plot_curves.py WORK_DIR [--keys loss loss_rec ...] [--out FILE.png]

WORK_DIR is a run's work dir (the newest ``<timestamp>/vis_data/scalars.json`` under it is read)
or one run's ``<timestamp>`` dir (its ``vis_data/scalars.json``; without one, the other
``vis_data/*.json`` that MMEngine's LoggerHook writes). Every line of the log is one JSON record:
training records hold ``iter``, ``step``, ``lr``, ``loss``, ``loss_*``...; validation records hold
the metrics (``parts/fg_iou``, ...) and ``step``. Each key gets its own panel, against ``step``
(the training iteration); validation metrics are drawn with markers. Without ``--keys`` every
``loss*`` key is drawn. A key may be given without its metric prefix (``fg_iou`` for
``parts/fg_iou``) when that is unambiguous. The figure goes to ``--out`` (default
``WORK_DIR/curves.png``).
"""
import argparse
import glob
import json
import math
import os
import os.path as osp
import sys
from typing import Dict, List, Optional, Sequence, Tuple

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if ROOT not in sys.path:  # run from anywhere without installing
    sys.path.insert(0, ROOT)

from partseg.utils.cli import UserError, run_tool  # noqa: E402

Series = Dict[str, List[Tuple[float, float]]]  # key -> [(step, value)]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Plot loss / metric curves of a partseg run from its vis_data scalars log.')
    parser.add_argument('work_dir', help='work dir of a run, or one <timestamp> dir inside it')
    parser.add_argument(
        '--keys',
        nargs='+',
        metavar='KEY',
        help='keys to draw, e.g. loss loss_rec parts/fg_iou (default: every loss* key)')
    parser.add_argument('--out', help='output PNG (default: WORK_DIR/curves.png)')
    return parser.parse_args(argv)


def find_scalar_log(work_dir: str) -> str:
    """The scalars log of ``work_dir``: its own ``vis_data``, else its newest run's."""
    if not osp.isdir(work_dir):
        raise UserError(f'work dir not found: {work_dir}')
    own = _vis_data_log(osp.join(work_dir, 'vis_data'))
    if own is not None:
        return own
    # <work_dir>/<timestamp>/vis_data/: timestamps (YYYYmmdd_HHMMSS) sort by time; ties by mtime.
    runs = sorted(
        glob.glob(osp.join(glob.escape(work_dir), '*', 'vis_data')),
        key=lambda path: (osp.basename(osp.dirname(path)), osp.getmtime(path)))
    for vis_data in reversed(runs):
        found = _vis_data_log(vis_data)
        if found is not None:
            return found
    raise UserError(f'no scalars log in {work_dir}: expected vis_data/scalars.json or '
                    f'<timestamp>/vis_data/scalars.json (written by MMEngine during training)')


def _vis_data_log(vis_data: str) -> Optional[str]:
    scalars = osp.join(vis_data, 'scalars.json')
    if osp.isfile(scalars):
        return scalars
    others = sorted(glob.glob(osp.join(glob.escape(vis_data), '*.json')))
    return others[-1] if others else None


def read_scalars(path: str) -> Tuple[Series, Series]:
    """(training series, validation series) of the JSON-lines log at ``path``.

    Records with ``iter`` are training records; the others (validation / test metrics) are placed
    at their ``step``. Non-numeric and non-finite values are skipped.
    """
    train: Series = {}
    val: Series = {}
    with open(path) as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(
                    f'{path}, line {number}: not a JSON record ({error.msg})') from None
            if not isinstance(record, dict) or 'step' not in record:
                raise ValueError(f'{path}, line {number}: a scalars record needs a "step"')
            target = train if 'iter' in record else val
            for key, value in record.items():
                if key in ('iter', 'step', 'epoch') or isinstance(value, bool) or \
                        not isinstance(value, (int, float)) or not math.isfinite(value):
                    continue
                target.setdefault(key, []).append((float(record['step']), float(value)))
    if not train and not val:
        raise UserError(f'no scalars in {path}: the run logged nothing yet')
    return train, val


def select_keys(requested: Optional[Sequence[str]], train: Series, val: Series,
                path: str) -> List[str]:
    """Keys to draw: ``requested`` resolved against the log (exact, or a unique suffix after a
    ``prefix/``), or every ``loss*`` training key."""
    available = list(train) + [key for key in val if key not in train]
    if not requested:
        keys = [key for key in train if key.startswith('loss')]
        if not keys:
            raise UserError(f'no loss* keys in {path}; choose with --keys from: '
                            f'{", ".join(available)}')
        return keys
    keys = []
    for name in requested:
        if name in available:
            keys.append(name)
            continue
        matches = [key for key in available if key.split('/', 1)[-1] == name]
        if len(matches) != 1:
            what = f'ambiguous key {name!r} ({", ".join(matches)})' if matches else \
                f'unknown key {name!r}'
            raise UserError(f'{what} in {path}; available: {", ".join(available)}')
        keys.append(matches[0])
    return keys


def plot(keys: Sequence[str], train: Series, val: Series, out: str, title: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(
        len(keys), 1, figsize=(8, 2.4 * len(keys) + 0.6), sharex=True, squeeze=False)
    for ax, key in zip(axes[:, 0], keys):
        if key in train:
            steps, values = zip(*train[key])
            ax.plot(steps, values, linewidth=1.2, label='train')
        if key in val:
            steps, values = zip(*val[key])
            ax.plot(steps, values, marker='o', linewidth=1.0, label='val')
        ax.set_ylabel(key)
        ax.grid(True, alpha=0.3)
        if key in train and key in val:
            ax.legend(loc='best', fontsize='small')
    axes[-1, 0].set_xlabel('iteration')
    fig.suptitle(title, fontsize='medium')
    fig.tight_layout()
    out_dir = osp.dirname(osp.abspath(out))
    try:
        os.makedirs(out_dir, exist_ok=True)
        fig.savefig(out, dpi=100)
    except OSError as error:
        raise UserError(f'cannot write {out}: {error.strerror}') from None
    finally:
        plt.close(fig)


def main(argv=None):
    args = parse_args(argv)
    if args.out is not None and not args.out.lower().endswith('.png'):
        raise UserError(f'--out must name a .png file, got {args.out}')
    path = find_scalar_log(args.work_dir)
    train, val = read_scalars(path)
    keys = select_keys(args.keys, train, val, path)
    out = args.out or osp.join(args.work_dir, 'curves.png')
    plot(keys, train, val, out, title=osp.relpath(path, args.work_dir))
    print(f'{len(keys)} curve(s) from {path} written to {out}')


if __name__ == '__main__':
    run_tool(main)
