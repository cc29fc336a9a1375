"""A Markdown table of training-benchmark JSON records, with the speed-up over a baseline record.

    python tools/analysis_tools/summarize_benchmarks.py RESULT.json [RESULT.json ...] \
        [--baseline REFERENCE.json] [--out table.md]

Reads records written by ``benchmark_train.py``, ``benchmark_dispart_reference.py`` and
``benchmark_ganseg_reference.py``: one row per record (its file name, model, device, batch, mixed
precision, channels-last, cuDNN autotuning, median seconds per iteration, images per second, peak
memory) and, with ``--baseline``, ``speed-up`` = the baseline's median seconds per iteration over
the row's (above 1: faster than the baseline). A baseline must have the same batch size and
device as every row; a file that is missing, not JSON or not a training record is named in a
one-line error.
"""
import argparse
import json
import os.path as osp
import sys

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if ROOT not in sys.path:  # run from anywhere without installing
    sys.path.insert(0, ROOT)

from partseg.utils.cli import UserError, run_tool

COLUMNS = ('run', 'model', 'device', 'batch', 'amp', 'channels-last', 'cudnn autotune',
           's/iter (median)', 'images/s', 'peak GiB (kind)')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Tabulate training-benchmark JSON records (Markdown), with the speed-up over '
        'a baseline record.')
    parser.add_argument('results', nargs='+', help='JSON records of the benchmark tools')
    parser.add_argument('--baseline', help='the record the speed-ups are relative to')
    parser.add_argument('--out', help='write the table to this file as well')
    return parser.parse_args(argv)


def load_record(path: str) -> dict:
    """A training-benchmark record; UserError naming ``path`` when it is not one."""
    try:
        with open(path) as f:
            record = json.load(f)
    except FileNotFoundError:
        raise UserError(f'{path}: no such file') from None
    except (OSError, ValueError) as error:
        raise UserError(f'{path}: not a JSON benchmark record ({error})') from None
    if not isinstance(record, dict):
        raise UserError(f'{path}: not a JSON benchmark record (a {type(record).__name__})')
    for key in ('s_per_iter', 'batch_size', 'images_per_s', 'peak_memory_gib', 'env'):
        if key not in record:
            raise UserError(f'{path}: not a training benchmark record (no {key!r}); '
                            'benchmark_infer records are not tabulated here')
    return record


def _model(record: dict) -> str:
    if record.get('config'):
        return osp.basename(record['config'])
    return record.get('tool', '?')


def row(path: str, record: dict, baseline: dict = None) -> list:
    """The table cells of one record (and its speed-up over ``baseline``)."""
    median = record['s_per_iter']['median']
    env = record['env']
    cells = [
        osp.splitext(osp.basename(path))[0],
        _model(record),
        env.get('device_name') or env.get('device', '?'),
        str(record['batch_size']),
        record.get('amp') or 'fp32',
        'yes' if record.get('channels_last') else 'no',
        {
            True: 'on',
            False: 'off'
        }.get(record.get('cudnn_benchmark'), '-'),
        f'{median:.4g}',
        f'{record["images_per_s"]:.4g}',
        f'{record["peak_memory_gib"]:.2f} ({record.get("peak_memory_kind", "?")})',
    ]
    if baseline is not None:
        cells.append(f'{baseline["s_per_iter"]["median"] / median:.2f}x')
    return cells


def check_comparable(path: str, record: dict, base_path: str, baseline: dict) -> None:
    """Same batch size and device as the baseline; UserError naming both files otherwise."""
    for key, get in (('batch size', lambda r: r['batch_size']),
                     ('device', lambda r: (r['env'].get('device'), r['env'].get('device_name')))):
        if get(record) != get(baseline):
            raise UserError(f'{path}: {key} {get(record)} differs from the baseline {base_path}'
                            f' ({get(baseline)}); speed-ups compare like with like')


def table(paths, baseline_path=None) -> str:
    """The Markdown table of the records at ``paths`` (the baseline's row first, when given)."""
    baseline = load_record(baseline_path) if baseline_path else None
    columns = list(COLUMNS) + (['speed-up'] if baseline is not None else [])
    lines = ['| ' + ' | '.join(columns) + ' |', '|' + '---|' * len(columns)]
    ordered = ([baseline_path] if baseline_path else []) + [
        p for p in paths if not baseline_path or osp.abspath(p) != osp.abspath(baseline_path)
    ]
    for path in ordered:
        record = baseline if path == baseline_path else load_record(path)
        if baseline is not None:
            check_comparable(path, record, baseline_path, baseline)
        lines.append('| ' + ' | '.join(row(path, record, baseline)) + ' |')
    return '\n'.join(lines) + '\n'


def main(argv=None):
    args = parse_args(argv)
    text = table(args.results, args.baseline)
    print(text, end='')
    if args.out:
        with open(args.out, 'w') as f:
            f.write(text)
    return 0


if __name__ == '__main__':
    run_tool(main)
