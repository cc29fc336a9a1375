"""Pretrained weights named in a config: where to find them, and a one-line error when missing.

Modules with a ``pretrained`` argument (a local path or an http(s) URL) keep it at build time
and read the file in ``init_weights`` (MMEngine's ``init_cfg`` contract: the runner calls
``init_weights`` when training starts), so building a model never reads or downloads anything.
A URL is looked up in torch's hub cache (``torch.hub.get_dir()/checkpoints/<file name>``) first
and only downloaded when it is not there. Files are read through MMEngine's ``CheckpointLoader``,
whose schemes partseg registers with weights-only loading (``partseg.engine.checkpoint``).
"""
import os.path as osp
from typing import Dict, Optional
from urllib.parse import urlparse

import torch
from mmengine.runner.checkpoint import CheckpointLoader
from torch import nn

__all__ = ['MissingPretrainedWeightsError', 'hub_cache_file', 'load_pretrained_state_dict']


def _is_url(path: str) -> bool:
    return path.startswith(('http://', 'https://'))


def hub_cache_file(url: str) -> str:
    """Where torch's hub keeps the download of ``url``: ``<hub dir>/checkpoints/<file name>``."""
    return osp.join(torch.hub.get_dir(), 'checkpoints', osp.basename(urlparse(url).path))


class MissingPretrainedWeightsError(FileNotFoundError):
    """Pretrained weights that are neither on disk nor downloadable; one line naming the config
    key to set and the file to get.

    ``module`` is the module whose ``pretrained`` argument named the file; a model that owns it
    calls :meth:`name_key` with the module's attribute path, so the message names the full config
    key (``model.reconstruction_loss.pretrained``) instead of ``PerceptualLoss.pretrained``.
    """

    def __init__(self,
                 module: nn.Module,
                 what: str,
                 problem: str,
                 source: str,
                 key: Optional[str] = None,
                 in_hub_cache: bool = True) -> None:
        self.module, self.what, self.problem, self.source = module, what, problem, source
        self.in_hub_cache = in_hub_cache
        self.key = key or f'{type(module).__name__}.pretrained'
        super().__init__(self._message())

    def _message(self) -> str:
        name = osp.basename(urlparse(self.source).path)
        if self.in_hub_cache:  # the config names a URL: its file in the hub cache is enough
            hub_dir = osp.join(torch.hub.get_dir(), 'checkpoints')
            return (f'{self.key}: {self.problem}; put {self.source} into {hub_dir}/ or set '
                    f'{self.key}=/path/to/{name}')
        return (f'{self.key}: {self.problem}; get the {self.what} weights ({self.source}) and '
                f'set {self.key}=/path/to/{name}')

    def name_key(self,
                 key: str,
                 module: Optional[nn.Module] = None) -> 'MissingPretrainedWeightsError':
        """The same error naming the config key ``key`` (e.g.
        ``model.reconstruction_loss.pretrained``), owned by ``module`` when given."""
        owner = self.module if module is None else module
        return MissingPretrainedWeightsError(owner, self.what, self.problem, self.source, key,
                                             self.in_hub_cache)


def load_pretrained_state_dict(path: str,
                               module: nn.Module,
                               what: str,
                               url: Optional[str] = None) -> Dict:
    """The object stored in ``path`` (a local file or an http(s) URL), loaded weights-only.

    A URL is read from torch's hub cache when it is there, downloaded into it otherwise. A missing
    local file or an undownloadable URL raises :class:`MissingPretrainedWeightsError` naming
    ``module``'s ``pretrained`` key, ``what`` (e.g. ``'VGG-19'``) and where to get it (``url``,
    the canonical download, for a local path).
    """
    if not _is_url(path):
        if not osp.isfile(path):
            raise MissingPretrainedWeightsError(
                module,
                what,
                f'pretrained {what} file not found: {path}',
                url or path,
                in_hub_cache=False)
        return CheckpointLoader.load_checkpoint(path, map_location='cpu')
    cached = hub_cache_file(path)
    if osp.isfile(cached):
        return CheckpointLoader.load_checkpoint(cached, map_location='cpu')
    from partseg.engine.checkpoint import CheckpointDownloadError  # registers the loaders
    try:
        return CheckpointLoader.load_checkpoint(path, map_location='cpu')
    except (OSError, CheckpointDownloadError) as caught:  # no network, HTTP error, DNS failure
        error = caught.__cause__ if isinstance(caught, CheckpointDownloadError) else caught
        reason = ' '.join(str(error).split()) or type(error).__name__
        raise MissingPretrainedWeightsError(
            module, what, f'{osp.basename(cached)} is not in torch\'s hub cache and cannot be '
            f'downloaded ({type(error).__name__}: {reason})', path) from None
