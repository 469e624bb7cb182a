"""FLOPs and parameters of a config's generator and discriminator, for one image at the config's resolution.

    python tools/analysis_tools/get_flops.py configs/sagan_imagenet128.py [--cfg-options k=v ...]

Counted with ``torch.utils.flop_counter.FlopCounterMode`` (a multiply-add is 2 FLOPs; GMACs = GFLOPs / 2 is
the unit of mmagic's get_flops.py), not ``mmengine.analysis``: MMEngine's counter traces with the deprecated
``torch.jit`` and skips ``scaled_dot_product_attention``, i.e. the attention SAGAN is about, while
FlopCounterMode counts every kernel that runs. Networks run in eval mode (spectral norm's power iteration
and batch statistics are training-only); element-wise ops (norms, activations) are not counted.
"""
import argparse
from typing import Dict, Tuple

import torch
from mmengine.config import Config
from mmengine.registry import MODELS, DefaultScope
from torch import nn
from torch.utils.flop_counter import FlopCounterMode, flop_registry, register_flop_formula, sdpa_flop_count

from sagan_plugin.engine.cfg_options import CfgOptionsAction

CPU_FLASH_SDPA = torch.ops.aten._scaled_dot_product_flash_attention_for_cpu
ROW = '{:<14} {:>10} {:>11} {:>9} {:>9} {:>17}'  # the printed table


def _cpu_flash_sdpa_flop(query, key, value, *args, out_shape=None, **kwargs) -> int:
    """torch 2.13 has SDPA formulas for the CUDA kernels only; the CPU flash kernel does the same work."""
    return sdpa_flop_count(query, key, value)


if CPU_FLASH_SDPA not in flop_registry:
    register_flop_formula(CPU_FLASH_SDPA)(_cpu_flash_sdpa_flop)


def network_inputs(name: str, network: nn.Module) -> Tuple:
    """One input of the right shape for ``network``: (noise, label) for G, (image, label) for D.

    Args:
        name: ``'generator'`` or ``'discriminator'``.
        network: a SAGANGenerator / SAGANDiscriminator.
    """
    label = torch.zeros(1, dtype=torch.long) if network.num_classes else None
    if name == 'generator':
        return torch.randn(1, network.noise_size), label
    return torch.randn(1, network.in_channels, network.input_scale, network.input_scale), label


def count(network: nn.Module, inputs: Tuple) -> Dict[str, float]:
    """FLOPs of one forward pass, the part spent in self-attention blocks, and the parameter count.

    Args:
        network: the network, put in eval mode.
        inputs: its positional inputs.
    """
    network.eval()
    with torch.no_grad(), FlopCounterMode(display=False, depth=None) as counter:
        network(*inputs)
    by_module = {name: sum(ops.values()) for name, ops in counter.get_flop_counts().items()}
    root = type(network).__name__  # FlopCounterMode names modules '<root class>.<attribute path>'
    attention = sum(
        by_module.get(f'{root}.{name}', 0) for name, module in network.named_modules()
        if type(module).__name__ == 'SelfAttentionBlock')
    return dict(
        flops=counter.get_total_flops(),
        attention_flops=attention,
        params=sum(p.numel() for p in network.parameters()))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='config file')
    parser.add_argument('--cfg-options', nargs='+', action=CfgOptionsAction, help='override config values')
    args = parser.parse_args()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    # The config's custom_imports registered our types; MMEngine's root registry finds them by scope.
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'mmagic')):
        model = MODELS.build(cfg.model)
    print(f'{args.config}: one image, FlopCounterMode (a multiply-add = 2 FLOPs)')
    print(ROW.format('network', 'resolution', 'params (M)', 'GFLOPs', 'GMACs', 'attention GFLOPs'))
    for name in ('generator', 'discriminator'):
        network = getattr(model, name)
        result = count(network, network_inputs(name, network))
        size = network.output_scale if name == 'generator' else network.input_scale
        flops, attention = result['flops'] / 1e9, result['attention_flops'] / 1e9
        print(
            ROW.format(name, size, f'{result["params"] / 1e6:.2f}', f'{flops:.3f}', f'{flops / 2:.3f}',
                       f'{attention:.3f}'))


if __name__ == '__main__':
    main()
