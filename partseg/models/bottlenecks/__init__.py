from .appearance_transfer_bottleneck import AppearanceTransferBottleneck

__all__ = ['AppearanceTransferBottleneck']
