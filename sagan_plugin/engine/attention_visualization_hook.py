"""Shows during training what the self-attention layers learn: the paper's attention figure every N
iterations, and each layer's γ in the log (does γ leave 0?)."""
from typing import Optional, Sequence

import numpy as np
import torch
from mmengine.dist import is_main_process
from mmengine.hooks import Hook

from sagan_plugin.models.sampling import network, truncated_noise, unwrap
from sagan_plugin.models.self_attention import SelfAttentionBlock
from sagan_plugin.registry import HOOKS
from sagan_plugin.visualization.attention import (attention_layers, discriminator_attention,
                                                  generator_attention, parse_layers, parse_queries)
from sagan_plugin.visualization.attention_figure import attention_figure


@HOOKS.register_module()
class AttentionVisualizationHook(Hook):
    """Every ``interval`` iterations (and after the last) draws the attention figure of
    :func:`sagan_plugin.visualization.attention_figure` for a fixed z and fixed classes and sends it to the
    visualizer's backends (``runner.visualizer.add_image``: a local PNG
    ``vis_data/vis_image/<name>_<iter>.png``, TensorBoard, ...). After every iteration it puts each
    attention layer's γ into the message hub as ``train/gamma/<layer>``, which MMEngine's ``LoggerHook``
    prints and sends to the backends (TensorBoard scalars) at its log interval.

    Generator layers are drawn on images of the EMA generator when the model has one (as mmagic's
    ``VisualizationHook`` samples), discriminator layers on the same images. Everything runs in eval mode
    under ``no_grad`` with its own random generator: training (weights, BN statistics, SN vectors, RNG
    streams) is not touched. The γ of the paper's residual control (``attention_variant='residual'``) is
    logged too; it has no attention map, so a model with only controls logs γ and draws no figure.

    Args:
        interval: iterations between figures.
        num_images: images (one row each per layer); classes 0, 1, ... for a conditional model.
        num_queries: automatic query points (centre first, then around it), if ``queries`` is None.
        queries: pixel positions ``'x,y'`` instead of automatic ones.
        layers: e.g. ``['generator.64']``; None: every attention layer of G and D.
        panel_size: pixels per panel of the figure.
        seed: seed of the fixed z.
        name: image name for the backends.
    """
    priority = 'NORMAL'  # before LoggerHook (BELOW_NORMAL), so the log line shows this iteration's γ

    def __init__(self,
                 interval: int = 1000,
                 num_images: int = 4,
                 num_queries: int = 4,
                 queries: Optional[Sequence[str]] = None,
                 layers: Optional[Sequence[str]] = None,
                 panel_size: int = 96,
                 seed: int = 0,
                 name: str = 'attention') -> None:
        if interval < 1 or num_images < 1:
            raise ValueError(f'interval and num_images must be >= 1, got {interval} and {num_images}')
        self.interval, self.num_images, self.num_queries = interval, num_images, num_queries
        self.queries, self.layers, self.panel_size = queries or 'auto', layers, panel_size
        self.seed, self.name = seed, name

    def before_train(self, runner) -> None:
        """Check the layers and queries once, and fix the z and classes every figure uses."""
        model = unwrap(runner.model)
        if not attention_layers(model):
            raise ValueError(
                'AttentionVisualizationHook: the model has no self-attention layers (attention_at)')
        self.layers = [  # layers with a map to draw (the residual control has none)
            name for name in parse_layers(model, self.layers) if isinstance(
                network(model,
                        name.split('.')[0]).attention[name.split('.')[1]], SelfAttentionBlock)
        ]
        self.points = parse_queries(self.queries, self.num_queries, network(model, 'generator').output_scale)
        self.noise = truncated_noise(self.num_images, model.noise_size, None,
                                     torch.Generator().manual_seed(self.seed))
        self.labels = torch.arange(self.num_images) % model.num_classes if model.num_classes else None
        # each image's row titled with its class name, when the dataset names the model's classes
        classes = getattr(runner.train_dataloader.dataset, 'metainfo', {}).get('classes')
        named = classes is not None and self.labels is not None and len(classes) == model.num_classes
        self.titles = [str(classes[i]) for i in self.labels] if named else None

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        """γ of every layer into the message hub; the figure to the backends every ``interval`` iterations."""
        model = unwrap(runner.model)
        for layer in attention_layers(model):
            net, key = layer.split('.')
            runner.message_hub.update_scalar(f'train/gamma/{layer}',
                                             float(network(model, net).attention[key].gamma.detach()))
        if self.layers and is_main_process() and (self.every_n_train_iters(runner, self.interval)
                                                  or self.is_last_train_iter(runner)):
            runner.visualizer.add_image(self.name, self.figure(model), step=runner.iter + 1)

    def figure(self, model: torch.nn.Module) -> np.ndarray:
        """The attention figure (H×W×3 uint8 RGB) of the model as it is now."""
        fake, maps = generator_attention(model, self.layers, self.noise, self.labels, self.points)
        maps += discriminator_attention(model, self.layers, fake, self.labels, self.points)
        return attention_figure(maps, self.panel_size, image_titles=getattr(self, 'titles', None))
