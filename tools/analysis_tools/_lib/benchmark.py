"""What the benchmark tools share: synthetic batches, timing statistics, memory and machine facts.

Used by ``tools/analysis_tools/benchmark_train.py``, ``benchmark_infer.py``,
``benchmark_dispart_reference.py`` and ``benchmark_ganseg_reference.py``; every figure they write
is a plain JSON value.
"""
import contextlib
import json
import os
import platform
import resource
import statistics
import sys
import time
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.structures import PixelData

__all__ = [
    'timing_stats', 'peak_memory', 'current_rss', 'environment_info', 'infer_image_size',
    'synthetic_batch', 'amp_context', 'synchronize', 'apply_memory_format', 'compile_submodules',
    'check_device', 'num_label_classes', 'training_fields', 'write_result', 'training_summary',
    'time_interleaved', 'setup_device', 'benchmark_reference_step'
]


def timing_stats(times: Sequence[float]) -> Dict[str, float]:
    """Median, mean, 90th percentile (nearest rank), min and max of ``times`` (seconds)."""
    if not times:
        raise ValueError('timing_stats needs at least one time')
    ordered = sorted(times)
    rank = max(1, -(-9 * len(ordered) // 10))  # ceil(0.9 n), nearest-rank percentile
    return dict(
        median=statistics.median(ordered),
        mean=statistics.fmean(ordered),
        p90=ordered[rank - 1],
        min=ordered[0],
        max=ordered[-1])


def training_fields(times: Sequence[float], cpu_times: Sequence[float],
                    warmup_times: Sequence[float], batch_size: int, device: str) -> dict:
    """The JSON fields of a training benchmark: seconds and CPU seconds per iteration (statistics
    and raw times), images per second at the median, the peak memory of ``device`` and, on a GPU,
    whether cuDNN autotuning (``torch.backends.cudnn.benchmark``) was on."""
    stats = timing_stats(times)
    peak, peak_kind = peak_memory(device)
    return dict(
        s_per_iter=stats,
        images_per_s=batch_size / stats['median'],
        cpu_s_per_iter=timing_stats(cpu_times),
        times_s=list(times),
        warmup_times_s=list(warmup_times),
        peak_memory_bytes=peak,
        peak_memory_kind=peak_kind,
        peak_memory_gib=round(peak / 2**30, 3),
        cudnn_benchmark=bool(torch.backends.cudnn.benchmark) if device.startswith('cuda') else None)


def write_result(result: dict, out: Optional[str]) -> None:
    """Print ``result`` as indented JSON and write it to ``out`` as well (when given)."""
    text = json.dumps(result, indent=2)
    print(text)
    if out:
        with open(out, 'w') as f:
            f.write(text + '\n')


def time_interleaved(fns: Sequence[Callable[[], object]], warmup: int, iters: int,
                     device: str) -> List[Tuple[List[float], List[float], List[float]]]:
    """Per function: (timed wall seconds, their process CPU seconds, warm-up wall seconds).

    The functions take turns in every round (``warmup`` rounds, then ``iters`` timed ones), so a
    change of the machine's load during the run affects them alike."""
    results = [([], [], []) for _ in fns]
    for i in range(warmup + iters):
        for fn, (times, cpu, warm) in zip(fns, results):
            synchronize(device)
            start, cpu_start = time.perf_counter(), time.process_time()
            fn()
            synchronize(device)
            if i < warmup:
                warm.append(time.perf_counter() - start)
            else:
                times.append(time.perf_counter() - start)
                cpu.append(time.process_time() - cpu_start)
    return results


def training_summary(label: str, result: dict) -> str:
    """One line for the terminal from a ``training_fields`` result with ``batch_size``, ``iters``
    and ``env``: seconds per iteration, batch, peak memory, threads, device."""
    env = result['env']
    return (f'{label}: {result["s_per_iter"]["median"]:.3f} s/iter (median of '
            f'{result["iters"]}), batch {result["batch_size"]}, '
            f'{result["peak_memory_bytes"] / 2**30:.2f} GiB {result["peak_memory_kind"]}, '
            f'{env["torch_threads"]} threads on {env["device_name"]}')


def setup_device(device: str, threads: Optional[int], seed: int) -> str:
    """Check ``device`` (``check_device``), set torch's intra-op threads (when given) and seed
    torch's generator; returns the device."""
    device = check_device(device)
    if threads is not None:
        torch.set_num_threads(threads)
    torch.manual_seed(seed)
    return device


def benchmark_reference_step(step: Callable[[], object], args, device: str, tool: str, label: str,
                             **fields) -> dict:
    """Time a plain-PyTorch reference training ``step`` (``args.warmup`` untimed, then
    ``args.iters`` timed calls), write its JSON record (``args.out``) and print one summary line.

    The record has ``training_fields``, ``fields`` (the architecture), the machine at the start
    and its load average at the end, like ``benchmark_train``'s."""
    env = environment_info(device)
    rss_after_build = current_rss()
    if device.startswith('cuda'):
        torch.cuda.reset_peak_memory_stats()
    [(times, cpu_times, warmup_times)] = time_interleaved([step], args.warmup, args.iters, device)
    result = dict(
        tool=tool,
        model=label,
        **fields,
        batch_size=args.batch_size,
        iters=args.iters,
        warmup=args.warmup,
        **training_fields(times, cpu_times, warmup_times, args.batch_size, device),
        rss_after_build_bytes=rss_after_build,
        env=env,
        load_average_end=environment_info(device)['load_average'])
    write_result(result, args.out)
    print(training_summary(f'{label} (reference)', result), file=sys.stderr)
    return result


def check_device(device: str) -> str:
    """``device`` if it is 'cpu' or an available 'cuda[:N]'; ValueError naming it otherwise."""
    if device == 'cpu':
        return device
    if not device.startswith('cuda'):
        raise ValueError(f"--device must be 'cpu' or 'cuda[:N]', got {device!r}")
    if not torch.cuda.is_available():
        raise ValueError(f'--device {device}: no CUDA device is available')
    return device


def num_label_classes(cfg, model: torch.nn.Module) -> int:
    """Classes of a config's label maps: a segmenter's ``model.decode_head.num_classes``, else
    K + 1 of a part segmentor (``model.num_parts``)."""
    head = cfg.model.get('decode_head')
    if isinstance(head, dict) and isinstance(head.get('num_classes'), int):
        return head['num_classes']
    return int(getattr(model, 'num_parts', 1)) + 1


def synchronize(device: str) -> None:
    """Wait for queued GPU work (a no-op on the CPU), so wall-clock times are complete."""
    if device.startswith('cuda'):
        torch.cuda.synchronize()


def current_rss() -> Optional[int]:
    """Resident set size of this process now, bytes (Linux ``/proc``; None elsewhere)."""
    try:
        with open('/proc/self/statm') as f:
            return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')
    except (OSError, ValueError, IndexError):
        return None


def peak_memory(device: str) -> Tuple[int, str]:
    """(bytes, kind): ``torch.cuda.max_memory_allocated`` on a GPU, else the peak RSS."""
    if device.startswith('cuda'):
        return int(torch.cuda.max_memory_allocated()), 'cuda_max_memory_allocated'
    scale = 1 if platform.system() == 'Darwin' else 1024  # ru_maxrss: kB on Linux
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale), 'peak_rss'


def _cpu_model() -> str:
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment_info(device: str) -> dict:
    """The machine a figure comes from: versions, device, threads, cores and load average."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    info = dict(
        timestamp=time.strftime('%Y-%m-%dT%H:%M:%S%z'),
        python=platform.python_version(),
        torch=torch.__version__,
        torch_cuda=torch.version.cuda,
        platform=platform.platform(),
        device=device,
        device_name=(torch.cuda.get_device_name(torch.device(device))
                     if device.startswith('cuda') else _cpu_model()),
        cpu_count=os.cpu_count(),
        cpu_usable=usable,
        torch_threads=torch.get_num_threads(),
        torch_interop_threads=torch.get_num_interop_threads(),
        omp_num_threads=os.environ.get('OMP_NUM_THREADS'),
        mkldnn=torch.backends.mkldnn.is_available(),
        load_average=list(os.getloadavg()) if hasattr(os, 'getloadavg') else None)
    return info


def _scale(node) -> Optional[Tuple[int, int]]:
    """(H, W) of a transform config with ``scale=(W, H)``."""
    scale = node.get('scale')
    if (isinstance(scale, (list, tuple)) and len(scale) == 2
            and all(isinstance(s, int) for s in scale)):
        return int(scale[1]), int(scale[0])
    return None


def _dataset_size(node) -> Optional[Tuple[int, int]]:
    """(S, S) of a dataset config with ``image_size=S``."""
    size = node.get('image_size') if 'type' in node else None
    return (size, size) if isinstance(size, int) and not isinstance(size, bool) else None


def _search(node, getter) -> Optional[Tuple[int, int]]:
    """First ``getter`` hit in a dataloader config, through dataset / datasets / pipeline."""
    if isinstance(node, dict):
        found = getter(node)
        if found:
            return found
        for key in ('dataset', 'datasets', 'pipeline'):
            if key in node:
                found = _search(node[key], getter)
                if found:
                    return found
    elif isinstance(node, (list, tuple)):
        for item in node:
            found = _search(item, getter)
            if found:
                return found
    return None


def infer_image_size(
    cfg, config_path: str, loaders: Sequence[str] = ('train_dataloader', 'test_dataloader')
) -> Tuple[int, int]:
    """(H, W) of the config's images: a resize ``scale`` in the first of ``loaders``' pipelines,
    else its dataset's ``image_size``, else the same for the next loader (a GAN's stage-2 pairs
    have the generator's size, which the config does not state); ValueError otherwise."""
    for key in loaders:
        loader = cfg.get(key) or {}
        found = _search(loader, _scale) or _search(loader, _dataset_size)
        if found:
            return found
    raise ValueError(f'{config_path}: cannot tell the image size from {" or ".join(loaders)} '
                     f'(no resize scale, no dataset image_size); pass --image-size')


def synthetic_batch(batch_size: int,
                    image_size: Tuple[int, int],
                    num_classes: int,
                    seed: int = 0) -> dict:
    """A data batch as a dataloader gives it: uint8 RGB images (3, H, W) and data samples with
    ``img_shape`` / ``ori_shape`` and random ``gt_sem_seg`` labels in [0, num_classes)."""
    from partseg.structures import PartDataSample  # imports mmseg: only when a batch is made

    if batch_size < 1:
        raise ValueError(f'batch size must be at least 1, got {batch_size}')
    h, w = image_size
    gen = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for _ in range(batch_size):
        inputs.append(torch.randint(0, 256, (3, h, w), dtype=torch.uint8, generator=gen))
        sample = PartDataSample(metainfo=dict(img_shape=(h, w), ori_shape=(h, w)))
        labels = torch.randint(0, num_classes, (1, h, w), dtype=torch.long, generator=gen)
        sample.gt_sem_seg = PixelData(data=labels)
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def amp_context(device: str, enabled: bool, dtype: torch.dtype = torch.bfloat16):
    """``torch.autocast`` on the device type of ``device`` (bf16 by default), or a no-op."""
    if not enabled:
        return contextlib.nullcontext()
    return torch.autocast(device_type=torch.device(device).type, dtype=dtype)


def apply_memory_format(model: torch.nn.Module, memory_format: str) -> None:
    """Store every 4-D weight of ``model`` in ``memory_format`` ('channels_last' or
    'contiguous'); convolutions then produce (and propagate) that layout.

    With 'channels_last', convolutions on at most 3 input channels (those reading RGB images)
    keep their weights contiguous: they gain nothing from NHWC, and on CPUs torch 2.14.1 corrupts
    its heap in the double backward (GANSeg's gradient penalty) of a channels-last 1 x 1
    stride-2 convolution from 3 channels at 128 px (GANSeg's first discriminator shortcut)."""
    formats = dict(channels_last=torch.channels_last, contiguous=torch.contiguous_format)
    if memory_format not in formats:
        raise ValueError(f'memory format must be one of {sorted(formats)}, got '
                         f'{memory_format!r}')
    model.to(memory_format=formats[memory_format])
    if memory_format == 'channels_last':
        for module in model.modules():
            if isinstance(module, torch.nn.Conv2d) and module.in_channels <= 3:
                module.to(memory_format=torch.contiguous_format)


def compile_submodules(model: torch.nn.Module,
                       names: List[str],
                       backend: str = 'inductor',
                       mode: Optional[str] = None) -> None:
    """``torch.compile`` the named sub-modules in place (``Module.compile``: the state-dict keys
    stay the same); compilation happens lazily, at each one's first call."""
    for name in names:
        try:
            module = model.get_submodule(name)
        except AttributeError:
            children = [n for n, _ in model.named_children()]
            raise KeyError(f'--compile {name}: the model has no sub-module {name!r} (its '
                           f'children: {", ".join(children)})') from None
        module.compile(backend=backend, mode=mode)
