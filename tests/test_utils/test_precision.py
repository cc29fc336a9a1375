"""partseg.utils.precision: fp32 regions under autocast, exact no-ops without it."""
import torch
from torch import nn

from partseg.utils.precision import autocast_device_type, full_precision_forward, to_full_precision


class Probe(nn.Module):
    """Records what its forward saw: the argument dtypes and whether autocast was on."""

    @full_precision_forward
    def forward(self, x, extra=None):
        self.seen = (x.dtype, None if extra is None else extra['y'].dtype,
                     torch.is_autocast_enabled('cpu'))
        return x @ x.t()


def test_under_autocast_the_forward_gets_fp32_and_no_autocast():
    x = torch.randn(3, 3)
    probe = Probe()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        low = x @ x.t()  # bf16 under autocast
        out = probe(low, extra=dict(y=low))
    assert probe.seen == (torch.float32, torch.float32, False)
    assert out.dtype == torch.float32 and torch.equal(out, low.float() @ low.float().t())


def test_without_autocast_the_same_tensors_are_passed_on():
    x = torch.randn(2, 2).bfloat16()
    probe = Probe()
    out = probe(x)
    assert probe.seen == (torch.bfloat16, None, False) and out.dtype == torch.bfloat16
    assert getattr(Probe.forward, 'full_precision', False)


def test_helpers():
    a, b = torch.ones(1, dtype=torch.float16), torch.ones(1)
    cast = to_full_precision(dict(a=[a, (b, 3)], n='x'))
    assert cast['a'][0].dtype == torch.float32 and cast['a'][1][0] is b
    assert cast['a'][1][1] == 3 and cast['n'] == 'x'
    assert autocast_device_type([3, dict(t=b)]) is None
    with torch.autocast('cpu', dtype=torch.bfloat16):
        assert autocast_device_type([3, dict(t=b)]) == 'cpu'
        assert autocast_device_type('no tensors') is None


def test_every_loss_but_the_perceptual_one_computes_in_fp32():
    """The registered losses' forwards are wrapped; PerceptualLoss keeps its VGG in low
    precision and casts the features itself."""
    import partseg.models.losses as losses
    classes = {
        name: value
        for name, value in vars(losses).items()
        if isinstance(value, type) and issubclass(value, nn.Module)
    }
    assert len(classes) == 11
    wrapped = {name for name, cls in classes.items() if getattr(cls.forward, 'full_precision', 0)}
    assert set(classes) - wrapped == {'PerceptualLoss'}
