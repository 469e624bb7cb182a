"""torch's spectral-norm hook with σ in float32 under autocast, a cheaper gradient, checkpoint awareness."""
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.spectral_norm import SpectralNorm

from .checkpointing import is_recomputing
from .spectral_division import Normalise, as_matrix, is_channels_last


class Float32SpectralNorm(SpectralNorm):
    """torch's spectral-norm hook with σ computed in float32 under autocast and a cheaper gradient.

    CUDA autocast runs ``mv`` in half precision, which would put σ — a product over every weight — in
    bf16/fp16; the normalised weight is still cast to the autocast dtype by the layer that uses it. The
    power iteration is torch's (same u, v updates, same σ) on the weight as it lies in memory (u and v keep
    torch's order); the division is :class:`~.spectral_division.Normalise`, whose gradient equals autograd's
    to float rounding (tests/models/test_spectral_norm.py). A checkpointed forward re-run in backward
    (:mod:`.checkpointing`) reuses this step's u and v: the same W/σ, no second update.
    """

    def compute_weight(self, module: nn.Module, do_power_iteration: bool) -> Tensor:
        weight = getattr(module, self.name + '_orig')
        if self.dim != 0:  # our layers normalise along dim 0; anything else takes torch's path
            return super().compute_weight(module, do_power_iteration)
        with torch.autocast(device_type=weight.device.type, enabled=False):
            u, v = getattr(module, self.name + '_u'), getattr(module, self.name + '_v')
            channels_last = is_channels_last(weight)
            weight_mat = as_matrix(weight.detach(), channels_last)
            with torch.no_grad():
                # v in the matrix's column order: kh, kw, I when channels-last (the buffer keeps I, kh, kw)
                v_mat = v.view(weight.shape[1:]).permute(1, 2, 0).reshape(-1) if channels_last else v
                wv = None
                # torch's, in place (see torch.nn.utils.spectral_norm); a checkpoint's re-run keeps u and v
                if do_power_iteration and not is_recomputing():
                    for _ in range(self.n_power_iterations):
                        v_mat = F.normalize(torch.mv(weight_mat.t(), u), dim=0, eps=self.eps)
                        wv = torch.mv(weight_mat, v_mat)
                        u = F.normalize(wv, dim=0, eps=self.eps, out=u)
                    if channels_last:  # the buffer back in torch's I, kh, kw order
                        v_mat = v_mat.view(*weight.shape[2:], -1).permute(2, 0, 1).reshape(-1)
                    v.copy_(v_mat)
                    # clones: a second forward before backward updates u and v in place again
                    u, v = u.clone(), v.clone()
                # torch recomputes W v here; the last iteration's is the same product
                sigma = torch.dot(u, torch.mv(weight_mat, v_mat) if wv is None else wv)
            return Normalise.apply(weight, u, v, sigma)
