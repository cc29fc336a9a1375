from .part_data_sample import PartDataSample

__all__ = ['PartDataSample']
