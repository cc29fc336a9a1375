"""GANSeg stage 1: the hierarchical part GAN, He et al. 2022 Sec. 3.4, Eq. (13)-(19)."""
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModel, ExponentialMovingAverage
from mmengine.optim import OptimWrapper, OptimWrapperDict
from mmengine.structures import PixelData
from torch import Tensor, nn

from partseg.registry import MODELS
from partseg.structures import PartDataSample
from partseg.utils.checks import check_int
from partseg.utils.model_wrapper import unwrap
from partseg.utils.precision import autocast_device_type, full_precision
from .base_part_segmentor import check_num_parts


def sample_seeded_noise(generator: nn.Module, seeds: Sequence[int],
                        device: Union[str, torch.device]) -> Dict[str, Tensor]:
    """Generator noise for a batch where sample ``i`` depends only on ``seeds[i]``.

    Each sample's noise is drawn on the CPU from its own seed (the global RNG state is restored
    afterwards), so a sample is the same whatever batch it is drawn in and on whatever device.
    """
    generator = unwrap(generator)
    parts = []
    with torch.random.fork_rng(devices=[]):
        for seed in seeds:
            torch.manual_seed(int(seed))
            parts.append(generator.sample_noise(1, torch.device('cpu')))
    return {key: torch.cat([p[key] for p in parts]).to(device) for key in parts[0]}


@MODELS.register_module()
class GANSeg(BaseModel):
    """GANSeg's stage 1, He et al. 2022 Eq. (18)-(19): alternating D and G updates.

    Every ``train_step`` does one discriminator step,
    ``L(D) = L_GAN(D) + λ_gp L_gp(D)`` (Eq. 14, 15, 18), then one generator step,
    ``L(G) = L_GAN(G) + λ_con L_con(G) + λ_area L_area(G)`` (Eq. 13, 16, 17, 19), each with its own
    optimizer wrapper (``optim_wrapper['discriminator']`` / ``['generator']``, built by
    ``MultipleOptimWrapperConstructor``). The penalties may be lazy: the gradient penalty is added
    on every ``gp_interval``-th D step (paper 1, official code 16) and the concentration and area
    losses on every ``con_area_interval``-th G step (paper 1, official 2). The step counters are
    buffers (``num_d_steps``, ``num_g_steps``), so checkpoints resume the schedule exactly.

    Non-finite or overflowing losses, gradients, weights and optimizer state are partseg's one
    NaN / overflow policy, ``NonFiniteGuardHook`` (``configs/_base_/default_runtime.py``), which
    guards both optimizer wrappers: the model itself does not check.

    ``predict`` / ``val_step`` / ``test_step`` generate one sample per input (the inputs only set
    the batch size); :meth:`generate` gives seeded samples as the generator's output dict.

    Args:
        generator (dict): generator config; its module has ``sample_noise(batch_size, device)``,
            ``num_parts`` and ``mask_grid(device, dtype)`` and returns ``image``, ``masks``,
            ``points``, ``part_locations``, ``part_scales``, ``heatmaps``.
        discriminator (dict): discriminator config; ``D(images) -> (B, 1)`` logits.
        num_parts (int, optional): K, passed to the generator, so a config sets K in one place
            (``model.num_parts``); None leaves it to ``generator.num_parts``.
        gan_loss (dict): Eq. (13)-(14).
        gp_loss (dict): Eq. (15); ``center=0`` R1 (paper), ``center=1`` official.
        con_loss (dict): Eq. (16).
        area_loss (dict): Eq. (17).
        gp_interval (int): add the gradient penalty on D steps 0, n, 2n, ...
        con_area_interval (int): add the concentration and area losses on G steps 0, n, 2n, ...
        ema_momentum (float, optional): keep an EMA copy of the generator
            (``ema = (1 - m) ema + m G`` after each G step) used for sampling; None = off.
        data_preprocessor (dict, optional): normalises uint8 images to [-1, 1]
            (``ImgDataPreprocessor`` with mean = std = 127.5, the default here).
        init_cfg (dict, optional): MMEngine init config.
    """

    def __init__(self,
                 generator: dict,
                 discriminator: dict,
                 num_parts: Optional[int] = None,
                 gan_loss: dict = dict(type='GANLoss'),
                 gp_loss: dict = dict(type='GradientPenaltyLoss', loss_weight=10.0, center=0.0),
                 con_loss: dict = dict(type='GeometricConcentrationLoss', loss_weight=10.0),
                 area_loss: dict = dict(type='AreaLoss', loss_weight=1.0),
                 gp_interval: int = 1,
                 con_area_interval: int = 1,
                 ema_momentum: Optional[float] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        if data_preprocessor is None:
            data_preprocessor = dict(type='ImgDataPreprocessor', mean=[127.5] * 3, std=[127.5] * 3)
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        for key, value in (('gp_interval', gp_interval), ('con_area_interval', con_area_interval)):
            check_int(value, key, 1)
        if num_parts is not None:
            check_num_parts(num_parts, 'model.num_parts')
            generator = dict(generator)
            if generator.setdefault('num_parts', num_parts) != num_parts:
                raise ValueError(f'model.num_parts={num_parts} contradicts '
                                 f'model.generator.num_parts={generator["num_parts"]}: set K once, '
                                 f'with model.num_parts (remove model.generator.num_parts)')
        self.generator = MODELS.build(generator)
        self.discriminator = MODELS.build(discriminator)
        self.gan_loss = MODELS.build(gan_loss)
        self.gp_loss = MODELS.build(gp_loss)
        self.con_loss = MODELS.build(con_loss)
        self.area_loss = MODELS.build(area_loss)
        self.gp_interval = gp_interval
        self.con_area_interval = con_area_interval
        self.generator_ema = None
        if ema_momentum is not None:
            self.generator_ema = ExponentialMovingAverage(self.generator, momentum=ema_momentum)
        # Schedule counters and K live in the state dict: resume is exact, and stage 2 can check
        # K against its config without rebuilding the generator.
        self.register_buffer('num_d_steps', torch.zeros((), dtype=torch.long))
        self.register_buffer('num_g_steps', torch.zeros((), dtype=torch.long))
        self.register_buffer('part_count', torch.tensor(self.num_parts, dtype=torch.long))

    @property
    def num_parts(self) -> int:
        """K, the number of foreground parts of the generator."""
        return unwrap(self.generator).num_parts

    @property
    def sampling_generator(self) -> nn.Module:
        """The generator used for samples: the EMA copy when there is one."""
        if self.generator_ema is not None:
            return self.generator_ema.module
        return unwrap(self.generator)

    # ------------------------------------------------------------------ training
    def train_step(self, data: Union[dict, tuple, list],
                   optim_wrapper: OptimWrapperDict) -> Dict[str, Tensor]:
        """One D step then one G step on a batch of real images (mmagic's GAN pattern)."""
        for key in ('generator', 'discriminator'):
            if key not in optim_wrapper:
                raise KeyError(f"GANSeg needs optim_wrapper['{key}'] (use "
                               'MultipleOptimWrapperConstructor with generator= and '
                               'discriminator= entries)')
        data = self.data_preprocessor(data, True)
        real = data['inputs']  # (B, 3, H, W) in [-1, 1]
        d_wrapper, g_wrapper = optim_wrapper['discriminator'], optim_wrapper['generator']
        log_vars = {}
        with d_wrapper.optim_context(self.discriminator):
            log_vars.update(self.train_discriminator(real, d_wrapper))
        with g_wrapper.optim_context(self.generator):
            log_vars.update(self.train_generator(real.shape[0], real.device, g_wrapper))
        return log_vars

    def train_discriminator(self, real: Tensor, optim_wrapper: OptimWrapper) -> Dict[str, Tensor]:
        """Eq. (18): ``L_GAN(D)`` (Eq. 14) + ``λ_gp L_gp`` (Eq. 15) on every gp_interval-th step."""
        batch_size = real.shape[0]
        generator = unwrap(self.generator)
        with torch.no_grad():
            fake = self.generator(generator.sample_noise(batch_size, real.device))['image']
        apply_gp = int(self.num_d_steps) % self.gp_interval == 0
        real = real.detach().requires_grad_(apply_gp)
        precision_device = autocast_device_type(real)
        if apply_gp and precision_device is not None:
            # Under mixed precision D sees the real batch in fp32 on a penalty step, so that
            # ∇_x D(x) and its double backward in L_gp keep full precision.
            with full_precision(precision_device):
                real_logits = self.discriminator(real.float())  # (B, 1)
            fake_logits = self.discriminator(fake.detach())  # (B, 1)
        else:
            # One D forward on real and fake together (D has no batch statistics).
            logits = self.discriminator(torch.cat([real, fake.detach()]))  # (2B, 1)
            real_logits, fake_logits = logits[:batch_size], logits[batch_size:]
        losses = {'loss_d': self.gan_loss(fake_logits, False) + self.gan_loss(real_logits, True)}
        if apply_gp:
            losses['loss_gp'] = self.gp_loss(real, real_logits)
        log_vars = self._step(losses, optim_wrapper, 'discriminator')
        self.num_d_steps += 1
        # Collapse signal: how often D is right (D(real) > 0, D(fake) < 0), before its update.
        log_vars['d_real_acc'] = (real_logits.detach() > 0).float().mean()
        log_vars['d_fake_acc'] = (fake_logits.detach() < 0).float().mean()
        return log_vars

    def train_generator(self, batch_size: int, device: torch.device,
                        optim_wrapper: OptimWrapper) -> Dict[str, Tensor]:
        """Eq. (19): ``L_GAN(G)`` (Eq. 13) + ``λ_con L_con`` + ``λ_area L_area`` (Eq. 16, 17).

        D's parameters are frozen meanwhile: the G loss must not leave gradients in D (they would
        be added to the next D step's) and D's weight gradients are not needed.
        """
        generator = unwrap(self.generator)
        d_params = [p for p in self.discriminator.parameters() if p.requires_grad]
        for param in d_params:
            param.requires_grad_(False)
        try:
            out = self.generator(generator.sample_noise(batch_size, device))
            losses = {'loss_g': self.gan_loss(self.discriminator(out['image']), True)}
            part_masks = out['masks'][:, 1:]  # (B, K+1, h, w) -> (B, K, h, w): no background
            if int(self.num_g_steps) % self.con_area_interval == 0:
                grid = generator.mask_grid(part_masks.device, part_masks.dtype)  # (h, w, 2)
                losses['loss_con'] = self.con_loss(part_masks, out['part_locations'], grid)
                losses['loss_area'] = self.area_loss(part_masks, out['heatmaps'], out['points'])
            log_vars = self._step(losses, optim_wrapper, 'generator')
        finally:
            for param in d_params:
                param.requires_grad_(True)
        self.num_g_steps += 1
        if self.generator_ema is not None:
            self.generator_ema.update_parameters(generator)
        log_vars.update(self.mask_areas(out['masks']))
        return log_vars

    @staticmethod
    def mask_areas(masks: Tensor) -> Dict[str, Tensor]:
        """Collapse signal: the mean fraction of the image each of the K+1 masks covers.

        ``area_bg`` for channel 0, ``area_part1`` … ``area_partK``; they sum to 1 (softmax masks).
        A part whose area falls to ~0, or one part taking the whole foreground, is the usual
        failure. Log variables only: they are not losses (no ``loss`` in their names).
        """
        area = masks.detach().float().mean((0, 2, 3))  # (B, K+1, h, w) -> (K+1,)
        names = ['area_bg'] + [f'area_part{k}' for k in range(1, area.shape[0])]
        return dict(zip(names, area.unbind()))

    def _step(self, losses: Dict[str, Tensor], optim_wrapper: OptimWrapper,
              name: str) -> Dict[str, Tensor]:
        """Back-propagate the sum of the terms and step the optimizer (NonFiniteGuardHook checks
        the losses, gradients, weights and optimizer state)."""
        terms = list(losses)
        values = torch.stack([losses[key].detach().float() for key in terms])
        total = sum(losses.values())
        optim_wrapper.backward(optim_wrapper.scale_loss(total))
        if optim_wrapper.should_update():
            optim_wrapper.step()
            optim_wrapper.zero_grad()
        return {key: values[i] for i, key in enumerate(terms)}

    # ------------------------------------------------------------------ sampling
    @torch.no_grad()
    def generate(self,
                 num_samples: Optional[int] = None,
                 seeds: Optional[Sequence[int]] = None,
                 device: Optional[torch.device] = None) -> Dict[str, Tensor]:
        """Generator outputs for ``num_samples`` random samples or one sample per seed.

        Runs the sampling generator (EMA if any) in eval mode and restores its mode.
        """
        generator = self.sampling_generator
        if device is None:
            device = self.part_count.device
        if seeds is not None:
            noise = sample_seeded_noise(generator, seeds, device)
        elif num_samples is not None:
            noise = generator.sample_noise(num_samples, device)
        else:
            raise ValueError('generate needs num_samples or seeds')
        was_training = generator.training
        generator.eval()
        try:
            return generator(noise)
        finally:
            generator.train(was_training)

    def forward(self,
                inputs: Tensor,
                data_samples: Optional[List[PartDataSample]] = None,
                mode: str = 'tensor'):
        """``'predict'``: generated samples as data samples; ``'tensor'``: generated images.

        One sample per input image (inputs only give the batch size and device). GANSeg trains
        through :meth:`train_step`; ``mode='loss'`` is refused.
        """
        if mode == 'loss':
            raise ValueError("GANSeg trains through train_step (alternating D/G updates); "
                             "forward(mode='loss') is not available")
        if mode not in ('predict', 'tensor'):
            raise ValueError(f"mode must be 'predict' or 'tensor', got {mode!r}")
        out = self.generate(num_samples=inputs.shape[0], device=inputs.device)
        if mode == 'tensor':
            return out['image']
        return self.to_data_samples(out)

    @staticmethod
    def to_data_samples(out: Dict[str, Tensor]) -> List[PartDataSample]:
        """Generated samples as :class:`PartDataSample` s.

        Fields: ``gen_img`` (PixelData (3, H, W) in [-1, 1]), ``seg_logits`` (log of the masks
        upsampled to the image, (K+1, H, W)), ``pred_sem_seg``, ``gen_points`` (K, n, 2) and
        ``gen_part_locations`` (K, 2) in [-1, 1] (x, y).
        """
        images = out['image']
        h, w = images.shape[-2:]
        masks = F.interpolate(out['masks'], size=(h, w), mode='bilinear', align_corners=False)
        logits = masks.clamp(min=1e-8).log()  # (B, K+1, H, W)
        samples = []
        for i in range(images.shape[0]):
            sample = PartDataSample(metainfo=dict(img_shape=(h, w), ori_shape=(h, w)))
            sample.gen_img = PixelData(data=images[i])
            sample.seg_logits = PixelData(data=logits[i])
            sample.pred_sem_seg = PixelData(data=logits[i].argmax(0, keepdim=True))
            sample.gen_points = out['points'][i]
            sample.gen_part_locations = out['part_locations'][i]
            samples.append(sample)
        return samples
