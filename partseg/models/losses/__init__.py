
from .arcface_loss import ArcFaceLoss
from .background_concentration_loss import BackgroundConcentrationLoss
from .foreground_concentration_loss import ForegroundConcentrationLoss
from .perceptual_loss import PerceptualLoss
from .pixel_reconstruction_loss import PixelReconstructionLoss
from .ssim_loss import SSIMLoss
from .area_loss import AreaLoss
from .gan_loss import GANLoss
from .geometric_concentration_loss import GeometricConcentrationLoss
from .gradient_penalty import GradientPenaltyLoss
from .soft_dice_loss import SoftDiceLoss
