"""The command-line options the benchmark tools share, and their checks."""
from typing import Sequence

from partseg.utils.cli import UserError

__all__ = ['add_reference_benchmark_arguments', 'check_benchmark_args']


def add_reference_benchmark_arguments(parser, image_size_help: str) -> None:
    """The options of the plain-PyTorch reference benchmarks (``benchmark_*_reference.py``):
    batch, image size, K, iterations, warm-up, device, threads, seed, output file."""
    parser.add_argument('--batch-size', type=int, default=8, help='images per batch (B)')
    parser.add_argument('--image-size', type=int, default=128, help=image_size_help)
    parser.add_argument('--num-parts', type=int, default=8, help='K foreground parts')
    parser.add_argument('--iters', type=int, default=5, help='timed iterations (default 5)')
    parser.add_argument('--warmup', type=int, default=1, help='untimed iterations first')
    parser.add_argument('--device', default='cpu', help="'cpu' (default), 'cuda' or 'cuda:N'")
    parser.add_argument('--threads', type=int, help='torch intra-op threads (default: torch\'s)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out', help='write the JSON result to this file as well')


def check_benchmark_args(args, positive: Sequence[str] = ('iters', )) -> None:
    """The benchmark tools' shared checks: each of ``positive`` at least 1, ``--warmup`` at least
    0, ``--threads`` (when given) at least 1; a one-line UserError naming the option."""
    for key in positive:
        if getattr(args, key) < 1:
            raise UserError(f'--{key.replace("_", "-")} must be at least 1, got '
                            f'{getattr(args, key)}')
    if args.warmup < 0:
        raise UserError(f'--warmup must be >= 0, got {args.warmup}')
    if args.threads is not None and args.threads < 1:
        raise UserError(f'--threads must be at least 1, got {args.threads}')
