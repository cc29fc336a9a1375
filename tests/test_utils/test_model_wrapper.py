"""partseg.utils.model_wrapper.unwrap: the wrapped model, or the model itself."""
from torch import nn

from partseg.utils.model_wrapper import unwrap


def test_unwrap_a_wrapper_and_a_plain_module():
    model = nn.Linear(2, 2)
    assert unwrap(nn.DataParallel(model)) is model  # registered in MMEngine's MODEL_WRAPPERS
    assert unwrap(model) is model
    # a module merely holding a child called ``module`` is no wrapper
    holder = nn.Module()
    holder.module = model
    assert unwrap(holder) is holder
