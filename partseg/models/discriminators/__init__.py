from .residual_discriminator import GANSegDiscriminator

__all__ = ['GANSegDiscriminator']
