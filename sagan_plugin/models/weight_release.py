"""A forward hook that frees the normalised weight W/σ an SN layer keeps after a training forward."""
from torch import nn


def release_weight(module: nn.Module, inputs, output) -> None:
    """After a training forward, drop the layer's reference to W/σ (autograd keeps what backward needs).

    torch's hook leaves W/σ on the layer until its next forward: a second copy of every weight held across
    the other network's step (326 MB of G and D at 128², ``bench_train.py --res 128``). Eval-mode forwards
    keep it, so ``layer.weight`` reads as torch's after ``eval()``.
    """
    if module.training:
        module.weight = None
