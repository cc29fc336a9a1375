from .dispart_decoder import DisPartDecoder

__all__ = ['DisPartDecoder']
