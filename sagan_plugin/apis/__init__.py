"""Use a trained SAGAN: build it from a config and checkpoint, sample images per class, interpolate, and draw
its attention maps as in the paper (in the spirit of ``mmagic.apis``). The attention maps, figures and grids
live in :mod:`sagan_plugin.visualization` and the sampling basics in :mod:`sagan_plugin.models.sampling`
(the training hooks use them too); they are re-exported here. ``run_features`` gathers a run's features
for ``tools/compare_runs.py``::

    from sagan_plugin.apis import init_model, sample_images, image_grid
    model = init_model('configs/sagan_demo_fashion32.py', 'work_dirs/sagan_demo_fashion32/iter_1000.pth')
    samples = sample_images(model, classes=[0, 3, 7], per_class=4, truncation=1.0, seed=0)
    grid = image_grid(samples.images, samples.ncol, samples.col_titles)  # H×W×3 uint8
"""
from sagan_plugin.models.sampling import check_label_ids, sampling_generator, to_rgb_uint8, truncated_noise
from sagan_plugin.visualization.attention import (AttentionMaps, attention_layers, discriminator_attention,
                                                  generator_attention, parse_layers, parse_queries,
                                                  query_maps)
from sagan_plugin.visualization.attention_figure import attention_figure, figure_size
from sagan_plugin.visualization.grid import image_grid
from .inference import class_names, init_model, load_weights, parse_classes, read_state_dict
from .real_images import dataset_images, file_images
from .sampling import GridInputs, Samples, class_grid_inputs, generate, interpolate, sample_images

__all__ = [
    'AttentionMaps', 'GridInputs', 'Samples', 'attention_figure', 'attention_layers', 'check_label_ids',
    'class_grid_inputs', 'class_names', 'dataset_images', 'discriminator_attention', 'figure_size',
    'file_images', 'generate', 'generator_attention', 'image_grid', 'init_model', 'interpolate',
    'load_weights', 'parse_classes', 'parse_layers', 'parse_queries', 'query_maps', 'read_state_dict',
    'sample_images', 'sampling_generator', 'to_rgb_uint8', 'truncated_noise'
]
