"""PyTorch-StudioGAN's SAGAN (``src/models/resnet.py``, ``src/utils/ops.py``; cBN generator, projection
discriminator "PD") into ours.

StudioGAN's SAGAN has mmagic's architecture (mmagic converts StudioGAN weights into it), so the same configs
reproduce it (``configs/sagan_mmagic_*.py``; StudioGAN's SN ε is 1e-6, which only floors the power iteration's
norms). Its layout differs in three exact ways, each handled by a transform below:

* conditional BN gains/biases are bias-free SN'd ``Linear(num_classes → C)`` applied to one-hot labels: the
  same function as our SN'd ``Embedding(num_classes, C)`` with the weight transposed and SN's u and v swapped
  (σ = uᵀWv is unchanged);
* the attention gain ``sigma`` has shape (1,), ours ``gamma`` ();
* StudioGAN trains on RGB images, while mmagic pipelines (and ours) feed BGR: as mmagic's converted configs do
  with ``rgb_to_bgr=True``, the generator's output conv and the discriminator's first convs get their colour
  channels permuted, so converted models read and write BGR like every model of this framework.

A StudioGAN run saves G, D and G_ema in separate files (``model=G-...pth``, ``model=D-...pth``,
``model=G_ema-...pth``, each ``{'state_dict': ...}``); give any of them. Unconditional ("W/O") BN is
supported.
"""
from typing import Dict, List, Tuple

import torch
from torch import Tensor, nn

from .convert import ConversionError, Rule, convert_model, ema_keys, forward_order, sequence_keys

_BGR = [2, 1, 0]  # the permutation RGB <-> BGR (its own inverse)


def _transpose(t: Tensor) -> Tensor:
    return t.t().contiguous()


def _cbn_rules(i: int) -> List[Rule]:
    """Conditional BN ``bn{i}``: statistics (``bn{i}.bn.*``; ``bn{i}.*`` unconditional), gain and bias."""
    rules: List[Rule] = [(f'bn{i}.bn.', f'bn{i}.bn.', None), (f'bn{i}.bn.', f'bn{i}.', None)]
    for table in ('gain', 'bias'):
        rules += [(f'bn{i}.{table}.weight_orig', f'bn{i}.{table}.weight_orig', _transpose),
                  (f'bn{i}.{table}.weight_u', f'bn{i}.{table}.weight_v', None),
                  (f'bn{i}.{table}.weight_v', f'bn{i}.{table}.weight_u', None)]
    # StudioGAN before 2021-07 (src/utils/model_ops.py): SN'd Embedding tables embed0 (gain), embed1 (bias),
    # the same function in our orientation
    return rules + [(f'bn{i}.gain.', f'bn{i}.embed0.', None), (f'bn{i}.bias.', f'bn{i}.embed1.', None)]


_CONV = [('conv1.', 'conv2d1.', None), ('conv2.', 'conv2d2.', None), ('shortcut.', 'conv2d0.', None)]
UP_BLOCK: List[Rule] = _CONV + _cbn_rules(1) + _cbn_rules(2)
DOWN_BLOCK: List[Rule] = _CONV
ATTENTION: List[Rule] = [('query.', 'conv1x1_theta.', None), ('key.', 'conv1x1_phi.', None),
                         ('value.', 'conv1x1_g.', None), ('out.', 'conv1x1_attn.', None),
                         ('gamma', 'sigma', lambda t: t.reshape(()))]
GENERATOR_TOP: List[Rule] = [
    ('linear.', 'linear0.', None),
    ('output_bn.', 'bn4.', None),
    ('output_conv.weight_orig', 'conv2d5.weight_orig', lambda t: t[_BGR]),  # output channels RGB -> BGR
    ('output_conv.bias', 'conv2d5.bias', lambda t: t[_BGR]),
    ('output_conv.weight_u', 'conv2d5.weight_u', lambda t: t[_BGR]),  # u indexes the output channels
    ('output_conv.', 'conv2d5.', None)
]
DISCRIMINATOR_TOP: List[Rule] = [('linear.', 'linear1.', None), ('embedding.', 'embedding.', None)]
# What StudioGAN's code fixes for every SAGAN it trains (POSTECH-CVLab/PyTorch-StudioGAN 947b35e; the audit
# with line numbers: docs/converting.md). Our config must agree: tools/convert_checkpoint.py checks it.
STUDIOGAN_SETTINGS = {
    'model.discriminator.relu_shortcut': True,  # DiscBlock: x0 = x; x = ReLU(inplace=True)(x) rewrites x0
    'model.generator.norm_eps': (1e-4, ),  # ops.batchnorm_2d and ConditionalBatchNorm2d: eps=1e-4
    'model.generator.sn_eps': (1e-6, ),  # ops.snconv2d / snlinear / sn_embedding: eps=1e-6
    'model.discriminator.sn_eps': (1e-6, ),
    'model.generator.rgb_to_bgr': False,  # the conversion permutes the weights' colour channels instead
}


def _bgr_input(t: Tensor) -> Tensor:
    """A first-layer conv weight [C_out, 3, k, k] with its input channels RGB -> BGR."""
    return t[:, _BGR]


def _bgr_input_v(t: Tensor) -> Tensor:
    """SN's v of a first-layer conv (length 3·k·k, input-channel major): its input channels RGB -> BGR."""
    return t.view(3, -1)[_BGR].reshape(-1)


FIRST_BLOCK: List[Rule] = [(f'{ours}.weight_orig', f'{theirs}.weight_orig', _bgr_input) for ours, theirs in (
    ('conv1', 'conv2d1'),
    ('shortcut', 'conv2d0'))] + [(f'{ours}.weight_v', f'{theirs}.weight_v', _bgr_input_v)
                                 for ours, theirs in (('conv1', 'conv2d1'),
                                                      ('shortcut', 'conv2d0'))] + DOWN_BLOCK


def _keys(net: nn.Module, block_rules: List[Rule], top: List[Rule], first_block: List[Rule] = None):
    prefixes = {ours: f'blocks.{k}.0' for k, ours in enumerate(forward_order(net))}

    def module_rules(prefix: str) -> List[Rule]:
        if prefix.startswith('attention.'):
            return ATTENTION
        return first_block if first_block and prefix == 'blocks.0' else block_rules

    return sequence_keys(prefixes, module_rules, top)


def _role(state: Dict[str, Tensor], name: str) -> str:
    """'generator', 'generator_ema' or 'discriminator' from a StudioGAN state dict's keys and file name."""
    if 'linear0.weight_orig' in state:
        return 'generator_ema' if 'G_ema' in name else 'generator'
    if 'linear1.weight_orig' in state:
        return 'discriminator'
    raise ConversionError(f'{name}: neither a StudioGAN generator (linear0.*) nor discriminator (linear1.*); '
                          f'first keys: {list(state)[:5]}')


def convert_studiogan(checkpoints: List[dict], model: nn.Module,
                      what: str) -> Tuple[Dict[str, Tensor], List[str]]:
    """Our model's state dict from StudioGAN G / D / G_ema files (``checkpoints[i]['name']`` is the file)."""
    peer: Dict[str, Tensor] = {}
    for checkpoint in checkpoints:
        state = checkpoint.get('state_dict', checkpoint)
        if all(k.startswith('module.') for k in state):  # saved from a DataParallel / DDP wrapper
            state = {k[len('module.'):]: v for k, v in state.items()}
        role = _role(state, checkpoint.get('name', what))
        if any(k.startswith(role + '.') for k in peer):
            raise ConversionError(f'two files hold the {role}; name the EMA generator file "...G_ema..."')
        prefix = 'generator_ema.module' if role == 'generator_ema' else role
        peer.update({f'{prefix}.{k}': v for k, v in state.items()})
        if role == 'generator_ema':  # our EMA wrapper counts its updates; StudioGAN keeps no count
            if not hasattr(model, 'generator_ema'):
                raise ConversionError(
                    f'{checkpoint.get("name", what)} is an EMA generator, but the config has no EMA; add '
                    '--cfg-options model.ema_config.type=DecayEMA model.ema_config.decay=0.9999 '
                    "(StudioGAN's g_ema), or leave the G_ema file out")
            peer['generator_ema.steps'] = torch.tensor(0)
    g_keys = _keys(model.generator, UP_BLOCK, GENERATOR_TOP)
    networks = [('generator', 'generator', g_keys),
                ('discriminator', 'discriminator',
                 _keys(model.discriminator, DOWN_BLOCK, DISCRIMINATOR_TOP, FIRST_BLOCK)),
                ('generator_ema', 'generator_ema', ema_keys(g_keys))]
    return convert_model(model, peer, networks, what)
