"""Count the trainable parameters of the model of one or more configs.

    python tools/analysis_tools/count_parameters.py configs/ganseg/celeba_wild_k8.py \
        configs/ganseg/cub_k8.py

prints one line per sub-network (a GAN's ``generator`` and ``discriminator``, the whole model
otherwise) and, for the GANSeg configs whose count was measured on the official implementation
(docs/ganseg.md), that count and whether ours matches. Models are built on PyTorch's meta device:
no memory for weights, no initialisation, no download.
"""
import argparse
import os.path as osp
import sys

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if ROOT not in sys.path:  # run from anywhere without installing
    sys.path.insert(0, ROOT)

from partseg.utils.cli import add_cfg_options_argument, load_config, run_tool

# Trainable parameters of He et al.'s official GANSeg code for the same architectures.
OFFICIAL = {
    ('celeba_wild_k8', 'generator'): 17_793_225,
    ('celeba_wild_k8', 'discriminator'): 23_726_721,
    ('cub_k8', 'generator'): 23_221_833,
    ('cub_k8', 'discriminator'): 23_726_721,
}
SUB_NETWORKS = ('generator', 'discriminator')


def count_trainable(module) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def count_config(path: str, cfg_options=None):
    """[(part, count)] for the model of the config at ``path``."""
    import torch
    from mmengine.registry import DefaultScope

    import partseg.engine  # noqa: F401  (registers everything a config may name)
    from partseg.registry import MODELS

    cfg = load_config(path, cfg_options)
    model_cfg = cfg.model
    parts = [key for key in SUB_NETWORKS if key in model_cfg]
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'partseg')):
        with torch.device('meta'):
            model = MODELS.build(model_cfg)
    if parts:
        return [(part, count_trainable(getattr(model, part))) for part in parts]
    return [('model', count_trainable(model))]


def main(argv=None):
    parser = argparse.ArgumentParser(description='Count trainable parameters of config models.')
    parser.add_argument('configs', nargs='+', help='config files')
    add_cfg_options_argument(parser)
    args = parser.parse_args(argv)
    print(f'{"config":<28} {"network":<14} {"ours":>12} {"official":>12}  match')
    mismatch = False
    for path in args.configs:
        name = osp.splitext(osp.basename(path))[0]
        for part, count in count_config(path, args.cfg_options):
            official = OFFICIAL.get((name, part))
            same = '' if official is None else ('yes' if official == count else 'NO')
            mismatch |= same == 'NO'
            shown = '-' if official is None else f'{official:,}'
            print(f'{name:<28} {part:<14} {count:>12,} {shown:>12}  {same}')
    return 1 if mismatch else 0


if __name__ == '__main__':
    run_tool(main)
