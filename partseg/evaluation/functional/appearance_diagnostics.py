"""Diagnostics of DisPart's appearance path (Liu et al. 2021 Eq. 2-4): does F carry appearance?

A DisPart model can reconstruct its inputs while ignoring the part features F: the decoder paints
the image from the soft part maps alone and F collapses to one vector per part (the ArcFace loss,
Eq. 6, rewards that). These numbers tell the cases apart on held-out images;
docs/notes/dispart_synthetic_trials.md shows them for the synthetic quickstart.
"""
from typing import Dict

import torch
from torch import Tensor

__all__ = ['feature_spread', 'colourfulness', 'appearance_diagnostics']


def feature_spread(features: Tensor, eps: float = 1e-12) -> Tensor:
    """Per-part relative spread of F over images: ``mean_l std_n F[n,k,l] / mean_{n,l} |F[n,k,l]|``.

    ``features``: (N, K+1, L) part features of N >= 2 images (Eq. 2). Returns (K+1,); 0 means the
    part's feature is the same in every image (no per-image appearance). ``std`` is the population
    standard deviation (divides by N).
    """
    if features.dim() != 3 or features.shape[0] < 2:
        raise ValueError(f'features must be (N, K+1, L) with N >= 2, got {tuple(features.shape)}')
    spread = features.std(dim=0, unbiased=False).mean(dim=-1)  # (K+1,)
    return spread / features.abs().mean(dim=(0, 2)).clamp(min=eps)


def colourfulness(images: Tensor) -> Tensor:
    """Mean absolute difference between colour channels, ``(|R-G| + |G-B| + |B-R|) / 3``, averaged.

    ``images``: (N, 3, H, W) in [0, 1]. 0 for grey images.
    """
    if images.dim() != 4 or images.shape[1] != 3:
        raise ValueError(f'images must be (N, 3, H, W), got {tuple(images.shape)}')
    r, g, b = images.unbind(dim=1)
    return ((r - g).abs() + (g - b).abs() + (b - r).abs()).mean() / 3


@torch.no_grad()
def appearance_diagnostics(model, inputs: Tensor) -> Dict[str, object]:
    """Appearance-path figures of a DisPart ``model`` on normalised images ``inputs`` (N, 3, H, W).

    Run the model in eval mode. Returns a dict of floats (lists per part):

    - ``feature_spread``: :func:`feature_spread` of F, per part (background first).
    - ``part_mass``: mean of each part map over images and cells.
    - ``reconstruction_error``: mean ``|x_hat - x|`` in [0, 1] units (x_hat from the image's own F).
    - ``swap_change``: mean ``|x_hat(F of image n-1) - x_hat(F of image n)|`` in [0, 1] units
      (cyclically), both rendered in image n's part maps: how much the reconstruction depends on F.
    - ``colourfulness_input`` / ``colourfulness_reconstruction``: :func:`colourfulness` of the
      images and of their reconstructions (a grey reconstruction of colourful images means colour
      does not reach the decoder's output).
    """
    if inputs.dim() != 4 or inputs.shape[0] < 2:
        raise ValueError(f'inputs must be (N, 3, H, W) with N >= 2, got {tuple(inputs.shape)}')
    to_unit = model.data_preprocessor.to_unit_range
    size = tuple(inputs.shape[-2:])
    part_maps, features = model.encode(inputs)  # (N, K+1, h, w), (N, K+1, L)
    recon = to_unit(model.render(features, part_maps, size))
    swapped = to_unit(model.render(features.roll(1, dims=0), part_maps, size))
    images = to_unit(inputs)
    return dict(
        feature_spread=feature_spread(features).tolist(),
        part_mass=part_maps.mean(dim=(0, 2, 3)).tolist(),
        reconstruction_error=(recon - images).abs().mean().item(),
        swap_change=(swapped - recon).abs().mean().item(),
        colourfulness_input=colourfulness(images.clamp(0, 1)).item(),
        colourfulness_reconstruction=colourfulness(recon.clamp(0, 1)).item())
