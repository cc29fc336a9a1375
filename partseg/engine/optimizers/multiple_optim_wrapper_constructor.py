"""One optimizer wrapper per named sub-module (GAN generator, discriminator): OptimWrapperDict."""
import copy
import logging
from typing import Optional

from mmengine.logging import print_log
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapperDict
from torch import nn

from partseg.registry import OPTIM_WRAPPER_CONSTRUCTORS
from partseg.utils.model_wrapper import unwrap


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class MultipleOptimWrapperConstructor:
    """Build an :class:`~mmengine.optim.OptimWrapperDict` with one wrapper per sub-module.

    Each key of ``optim_wrapper_cfg`` names an attribute of the model (``generator``,
    ``discriminator``) and holds an ordinary optimizer-wrapper config, built for that sub-module's
    parameters by MMEngine's :class:`DefaultOptimWrapperConstructor`::

        optim_wrapper = dict(
            constructor='MultipleOptimWrapperConstructor',
            generator=dict(optimizer=dict(type='Adam', lr=1e-4, betas=(0.5, 0.9))),
            discriminator=dict(optimizer=dict(type='Adam', lr=4e-4, betas=(0.5, 0.9))))

    A per-module ``paramwise_cfg`` goes inside that module's entry. Sub-modules must not share
    parameters (two optimizers would step them); trainable parameters of the model outside every
    named sub-module are reported with a warning, as no optimizer updates them.
    """

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg: Optional[dict] = None) -> None:
        if not isinstance(optim_wrapper_cfg, dict) or not optim_wrapper_cfg:
            raise TypeError(
                'optim_wrapper must map sub-module names (e.g. generator, '
                f'discriminator) to optimizer-wrapper configs, got {optim_wrapper_cfg!r}')
        if paramwise_cfg is not None:
            raise ValueError('optim_wrapper.paramwise_cfg: put paramwise_cfg inside each '
                             'sub-module entry (optim_wrapper.generator.paramwise_cfg, ...)')
        for name, cfg in optim_wrapper_cfg.items():
            if not isinstance(cfg, dict) or 'optimizer' not in cfg:
                raise ValueError(f'optim_wrapper.{name} must be a dict with an optimizer, '
                                 f'got {cfg!r}')
        self.optim_wrapper_cfg = copy.deepcopy(optim_wrapper_cfg)

    def __call__(self, model: nn.Module) -> OptimWrapperDict:
        model = unwrap(model)
        wrappers = {}
        owner = {}  # id(parameter) -> name of the sub-module whose optimizer steps it
        for name, cfg in self.optim_wrapper_cfg.items():
            module = getattr(model, name, None)
            if not isinstance(module, nn.Module):
                raise KeyError(f'optim_wrapper.{name}: the model ({type(model).__name__}) has no '
                               f'sub-module named {name!r}')
            for param in module.parameters():
                if owner.setdefault(id(param), name) != name:
                    raise ValueError(f'optim_wrapper.{name}: sub-modules {owner[id(param)]!r} and '
                                     f'{name!r} share parameters; each parameter may have only '
                                     'one optimizer')
            cfg = copy.deepcopy(cfg)
            paramwise_cfg = cfg.pop('paramwise_cfg', None)
            wrappers[name] = DefaultOptimWrapperConstructor(cfg, paramwise_cfg)(module)
        untrained = [
            name for name, param in model.named_parameters()
            if param.requires_grad and id(param) not in owner
        ]
        if untrained:
            print_log(
                f'MultipleOptimWrapperConstructor: no optimizer updates {len(untrained)} trainable '
                f'parameter(s) outside {sorted(self.optim_wrapper_cfg)}: '
                f'{", ".join(untrained[:5])}{" ..." if len(untrained) > 5 else ""}',
                logger='current',
                level=logging.WARNING)
        return OptimWrapperDict(**wrappers)
