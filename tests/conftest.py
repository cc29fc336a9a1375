"""Suite-wide test settings: tiny tensors run fastest on one thread (less contention on 2 cores)."""
import torch

torch.set_num_threads(1)
