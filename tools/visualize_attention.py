"""Draw a SAGAN's attention maps as in the paper's Fig. 1 / Fig. 5: each image with its query points marked
and, beside it, each query's attention over the image (upsampled from the key grid and overlaid).

    python tools/visualize_attention.py CONFIG CKPT --out attention.png                   # every layer
    python tools/visualize_attention.py CONFIG CKPT --classes 0 7 --queries 16,16 8,24 --layer generator.16 \\
        --out g16.png
    python tools/visualize_attention.py CONFIG CKPT --layer discriminator.16 --images dataset --out d16.png
    python tools/visualize_attention.py CONFIG CKPT --layer discriminator.16 --images a.png b.png \\
        --classes 3 --out d16.png

Generator layers always show generated images; discriminator layers show ``--images``: the generated ones
(default), the first image of each class from the config's training set (``dataset``), or image files.
"""
import argparse
import os
import os.path as osp
from typing import List, Optional

import numpy as np
import torch
from PIL import Image

from sagan_plugin.apis import (attention_figure, dataset_images, discriminator_attention, file_images,
                               generator_attention, init_model, parse_classes, parse_layers, parse_queries,
                               truncated_noise)
from sagan_plugin.engine.output_paths import check_output_file


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='config file of the model')
    parser.add_argument('checkpoint', help='runner checkpoint or converted checkpoint')
    parser.add_argument('--out', required=True, help='figure PNG to write')
    parser.add_argument(
        '--classes',
        nargs='+',
        help='class ids or names, one image each (default: the first '
        '--num-images classes); with image files, one class for all or one per file')
    parser.add_argument('--num-images', type=int, default=4, help='images when --classes is not given')
    parser.add_argument('--queries', nargs='+', default=['auto'], help='"auto" or pixel positions x,y')
    parser.add_argument('--num-queries', type=int, default=4, help='automatic queries (with --queries auto)')
    parser.add_argument(
        '--layer',
        nargs='+',
        help='e.g. generator.64 discriminator.64 (default: every layer '
        'the checkpoint has weights for)')
    parser.add_argument(
        '--images',
        nargs='+',
        default=['generated'],
        help='what the discriminator sees: generated, dataset, or image files')
    parser.add_argument('--seed', type=int, default=0, help='seed of z')
    parser.add_argument('--truncation', type=float, help='truncation trick: |z_i| <= T (default: none)')
    parser.add_argument('--panel-size', type=int, default=128, help='pixels per panel')
    parser.add_argument('--no-ema', action='store_true', help='read the raw generator, not the EMA one')
    parser.add_argument('--save-maps', help='also write the drawn maps (B×Q×h×w per layer) to this .npz')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    return parser.parse_args(argv)


def discriminator_inputs(args: argparse.Namespace, model: torch.nn.Module, fake: torch.Tensor,
                         labels: Optional[torch.Tensor]):
    """The images (network range) and labels D's layers are drawn on."""
    if args.images == ['generated']:
        return fake, labels
    if args.images == ['dataset']:
        return dataset_images(model, labels, args.num_images)
    return file_images(model, args.images, labels if args.classes else None)  # files need explicit classes


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    check_output_file(args.out, '--out', example='attention.png')  # before the model is loaded and run
    if args.save_maps:
        check_output_file(args.save_maps, '--save-maps', example='maps.npz', create_parents=False)
    model = init_model(args.config, args.checkpoint, device=args.device)
    layers = parse_layers(model, args.layer)
    if args.classes or not model.num_classes:
        labels = parse_classes(model, args.classes)  # None if unconditional (an error if classes were given)
    else:
        labels = torch.arange(min(args.num_images, model.num_classes))
    num = args.num_images if labels is None else len(labels)
    queries = parse_queries(args.queries, args.num_queries, model.generator.output_scale)
    noise = truncated_noise(num, model.noise_size, args.truncation, torch.Generator().manual_seed(args.seed))
    fake, maps = generator_attention(
        model, layers, noise, labels, queries, use_ema=False if args.no_ema else None)
    if any(name.startswith('discriminator.') for name in layers):
        maps += discriminator_attention(model, layers, *discriminator_inputs(args, model, fake, labels),
                                        queries)
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    Image.fromarray(attention_figure(maps, args.panel_size)).save(args.out)
    for m in maps:
        print(
            f'{m.layer}: {m.variant} variant, gamma={m.gamma:.4f}, keys {m.maps.shape[-1]}x{m.maps.shape[-1]}'
            + (' (EMA generator)' if m.ema else ''))
    print(f'wrote {args.out}: {len(maps)} layers, {len(queries)} queries {queries}')
    if args.save_maps:
        np.savez(args.save_maps, queries=np.array(queries), **{m.layer: m.maps.numpy() for m in maps})
        print(f'wrote {args.save_maps}')


if __name__ == '__main__':
    main()
