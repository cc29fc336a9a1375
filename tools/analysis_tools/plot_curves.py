"""Draw loss / metric curves of a training run from MMEngine's scalar log to a PNG.

    python tools/analysis_tools/plot_curves.py WORK_DIR [--keys loss loss_rec ...] [--out FILE.png]

WORK_DIR is a run's work dir or one launch's ``<timestamp>`` dir inside it. A work dir holds one
``<timestamp>/vis_data/scalars.json`` per launch of ``tools/train.py`` (a resumed run adds one);
they are joined into one curve per key, in launch order, a later launch replacing the records of
the earlier ones from its first logged step on (what it redid after resuming from a checkpoint);
later launches are marked by dotted lines. A ``<timestamp>`` dir gives that launch alone (its
``vis_data/scalars.json``; without one, the other ``vis_data/*.json`` that MMEngine's LoggerHook
writes). Every line of the log is one JSON record:
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


def find_scalar_logs(work_dir: str) -> List[str]:
    """The scalars logs of ``work_dir`` in launch order: its own ``vis_data``, else those of its
    ``<timestamp>`` launch dirs."""
    if not osp.isdir(work_dir):
        raise UserError(f'work dir not found: {work_dir}')
    own = _vis_data_log(osp.join(work_dir, 'vis_data'))
    if own is not None:
        return [own]
    # <work_dir>/<timestamp>/vis_data/: timestamps (YYYYmmdd_HHMMSS) sort by time; ties by mtime.
    launches = sorted(
        glob.glob(osp.join(glob.escape(work_dir), '*', 'vis_data')),
        key=lambda path: (osp.basename(osp.dirname(path)), osp.getmtime(path)))
    found = [log for log in map(_vis_data_log, launches) if log is not None]
    if not found:
        raise UserError(f'no scalars log in {work_dir}: expected vis_data/scalars.json or '
                        f'<timestamp>/vis_data/scalars.json (written by MMEngine during training)')
    return found


def find_scalar_log(work_dir: str) -> str:
    """The newest scalars log of ``work_dir`` (its own ``vis_data``, else its newest launch's)."""
    return find_scalar_logs(work_dir)[-1]


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


def read_launches(paths: Sequence[str]) -> Tuple[Series, Series, List[float]]:
    """(training series, validation series, starts) of the launches logged at ``paths``, oldest
    first, joined: each launch with training records replaces every earlier record (training or
    validation) at or after its first training step, which is returned in ``starts`` (for the
    launches after the first). Launches whose logs hold no scalars are skipped."""
    train: Series = {}
    val: Series = {}
    starts: List[float] = []
    for path in paths:
        try:
            new_train, new_val = read_scalars(path)
        except UserError:
            if len(paths) == 1:
                raise
            continue  # a launch that stopped before logging anything
        if new_train:
            start = min(step for points in new_train.values() for step, _ in points)
            if train or val:
                starts.append(start)
            for series in (train, val):
                for key in list(series):
                    series[key] = [(step, v) for step, v in series[key] if step < start]
                    if not series[key]:
                        del series[key]
        for series, new in ((train, new_train), (val, new_val)):
            for key, points in new.items():
                series[key] = sorted(series.get(key, []) + points, key=lambda point: point[0])
    if not train and not val:
        raise UserError(f'no scalars in {", ".join(paths)}: the run logged nothing yet')
    return train, val, starts


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


def plot(keys: Sequence[str],
         train: Series,
         val: Series,
         out: str,
         title: str,
         starts: Sequence[float] = ()) -> None:
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
        for start in starts:
            ax.axvline(start, color='grey', linestyle=':', linewidth=1.0)
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
    paths = find_scalar_logs(args.work_dir)
    train, val, starts = read_launches(paths)
    keys = select_keys(args.keys, train, val, ', '.join(paths))
    out = args.out or osp.join(args.work_dir, 'curves.png')
    title = osp.relpath(paths[0], args.work_dir)
    if len(paths) > 1:
        title = f'{osp.normpath(args.work_dir)}: {len(paths)} launches joined'
        if starts:
            title += f' (later ones from step {", ".join(f"{s:g}" for s in starts)})'
    plot(keys, train, val, out, title=title, starts=starts)
    print(f'{len(keys)} curve(s) from {len(paths)} launch(es) ({", ".join(paths)}) '
          f'written to {out}')


if __name__ == '__main__':
    run_tool(main)
