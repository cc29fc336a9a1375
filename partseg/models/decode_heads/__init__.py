from .projected_aspp_head import ProjectedASPPHead

__all__ = ['ProjectedASPPHead']
