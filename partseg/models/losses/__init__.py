from .arcface_loss import ArcFaceLoss
from .area_loss import AreaLoss
from .background_concentration_loss import BackgroundConcentrationLoss
from .foreground_concentration_loss import ForegroundConcentrationLoss
from .gan_loss import GANLoss
from .geometric_concentration_loss import GeometricConcentrationLoss
from .gradient_penalty import GradientPenaltyLoss
from .perceptual_loss import PerceptualLoss
from .pixel_reconstruction_loss import PixelReconstructionLoss
from .soft_dice_loss import SoftDiceLoss
from .ssim_loss import SSIMLoss

__all__ = [
    'ArcFaceLoss', 'AreaLoss', 'BackgroundConcentrationLoss', 'ForegroundConcentrationLoss',
    'GANLoss', 'GeometricConcentrationLoss', 'GradientPenaltyLoss', 'PerceptualLoss',
    'PixelReconstructionLoss', 'SoftDiceLoss', 'SSIMLoss'
]
