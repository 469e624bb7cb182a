"""The one place that decides spectral normalisation (Miyato et al. 2018) for SAGAN's G and D.

SAGAN (Zhang et al. 2019, Sec. 4) puts spectral norm on *every* layer of both networks. Every weight layer of
G, D and the attention block is built by an :class:`SNLayers` factory (BigGAN-PyTorch ``layers.py`` style),
which makes that true by construction instead of by review, and gives one network one ε.

We use the hook-based :func:`torch.nn.utils.spectral_norm` with one power iteration per training forward. Its
state-dict keys (``weight_orig``, ``weight_u``, ``weight_v``) are the ones mmagic and StudioGAN checkpoints
use, which keeps the checkpoint converters a renaming exercise. ε only floors ‖u‖ and ‖v‖ during the power
iteration (training); evaluation-mode outputs do not depend on it.

One idea per module: this factory; the hook subclass (``spectral_norm_hook.py``: σ in float32, checkpoint
aware) and its autograd division (``spectral_division.py``); the weight-release hook (``weight_release.py``);
the fused resampling convs (``resampling_convs.py``).
"""
from dataclasses import dataclass

from torch import nn
from torch.nn.utils import spectral_norm

from sagan_plugin.compat import replace_spectral_norm_hook
from .resampling_convs import PooledConv2d, UpsampledConv2d
from .spectral_norm_hook import Float32SpectralNorm
from .weight_release import release_weight

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
        if not self.enabled:
            return layer
        layer = spectral_norm(layer, n_power_iterations=1, eps=self.eps)
        replace_spectral_norm_hook(layer, Float32SpectralNorm)  # torch's hook object: only its class changes
        layer.register_forward_hook(release_weight)
        return layer

    def conv(self, in_channels: int, out_channels: int, kernel_size: int, bias: bool = True) -> nn.Module:
        """A same-padding conv (kernel 1 or 3)."""
        return self._sn(
            nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=bias))

    def pooled_conv(self, in_channels: int, out_channels: int) -> nn.Module:
        """A 3×3 conv followed by 2×2 average pooling, run as one conv
        (see :class:`~.resampling_convs.PooledConv2d`)."""
        return self._sn(PooledConv2d(in_channels, out_channels, 3, padding=1))

    def upsampled_conv(self, in_channels: int, out_channels: int) -> nn.Module:
        """Nearest 2× upsampling followed by a 3×3 conv, run as one conv
        (see :class:`~.resampling_convs.UpsampledConv2d`)."""
        return self._sn(UpsampledConv2d(in_channels, out_channels, 3, padding=1))

    def linear(self, in_features: int, out_features: int, bias: bool = True) -> nn.Module:
        return self._sn(nn.Linear(in_features, out_features, bias=bias))

    def embedding(self, num_embeddings: int, embedding_dim: int) -> nn.Module:
        return self._sn(nn.Embedding(num_embeddings, embedding_dim))


def has_spectral_norm(module: nn.Module) -> bool:
    """Whether ``module``'s weight is reparametrised by the SN hook (it then owns ``weight_orig``)."""
    return hasattr(module, 'weight_orig')
