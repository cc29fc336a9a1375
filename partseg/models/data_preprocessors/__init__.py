from .tps_pair_preprocessor import TPS_MASK_KEY, TPSPairPreprocessor

__all__ = ['TPS_MASK_KEY', 'TPSPairPreprocessor']
