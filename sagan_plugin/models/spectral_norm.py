"""The one place that decides spectral normalisation (Miyato et al. 2018) for SAGAN's G and D.

SAGAN (Zhang et al. 2019, Sec. 4) puts spectral norm on *every* layer of both networks. Every weight layer of
G, D and the attention block is built by an :class:`SNLayers` factory (BigGAN-PyTorch ``layers.py`` style),
which makes that true by construction instead of by review, and gives one network one ε.

We use the hook-based :func:`torch.nn.utils.spectral_norm` with one power iteration per training forward. Its
state-dict keys (``weight_orig``, ``weight_u``, ``weight_v``) are the ones mmagic and StudioGAN checkpoints
use, which keeps the checkpoint converters a renaming exercise. ε only floors ‖u‖ and ‖v‖ during the power
iteration (training); evaluation-mode outputs do not depend on it.
"""
from dataclasses import dataclass

from torch import nn
from torch.nn.utils import spectral_norm

# Floor on the norms of u and v in the power iteration: 1e-8, as BigGAN-PyTorch's SA-GAN launch script.
SN_EPS = 1e-8


@dataclass(frozen=True)
class SNLayers:
    """Factories for spectral-normalised conv / linear / embedding layers sharing one ε.

    Args:
        eps: floor on the norms of u and v in the power iteration (mmagic: 1e-12, StudioGAN: 1e-6).
        enabled: False builds plain layers (for experiments only; SAGAN has SN everywhere).
    """
    eps: float = SN_EPS
    enabled: bool = True

    def _sn(self, layer: nn.Module) -> nn.Module:
        return spectral_norm(layer, n_power_iterations=1, eps=self.eps) if self.enabled else layer

    def conv(self, in_channels: int, out_channels: int, kernel_size: int, bias: bool = True) -> nn.Module:
        """A same-padding conv (kernel 1 or 3)."""
        return self._sn(
            nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=bias))

    def linear(self, in_features: int, out_features: int, bias: bool = True) -> nn.Module:
        return self._sn(nn.Linear(in_features, out_features, bias=bias))

    def embedding(self, num_embeddings: int, embedding_dim: int) -> nn.Module:
        return self._sn(nn.Embedding(num_embeddings, embedding_dim))


def has_spectral_norm(module: nn.Module) -> bool:
    """Whether ``module``'s weight is reparametrised by the SN hook (it then owns ``weight_orig``)."""
    return hasattr(module, 'weight_orig')
