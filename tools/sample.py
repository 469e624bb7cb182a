"""Sample images from a trained (or converted) SAGAN checkpoint: a per-class grid, individual PNGs with a
manifest, or interpolations. Only the generator's weights are needed; the EMA generator is used when the
checkpoint has one.

    python tools/sample.py CONFIG CKPT --out grid.png                       # every class, 8 per class
    python tools/sample.py CONFIG CKPT --classes 0 3 7 --per-class 4 --truncation 1.0 --seed 1 --out g.png
    python tools/sample.py CONFIG CKPT --per-class 1000 --out-dir samples/   # PNGs + manifest.json, for FID
    python tools/sample.py CONFIG CKPT --interpolate class --classes 1 8 --steps 8 --out interp.png
    python tools/sample.py configs/sagan_openclipart_32.py CKPT --classes animals food --out g.png
    python tools/sample.py CONFIG CKPT --truncation 0.5 --bn-mode standing --out g.png   # BigGAN's statistics

``--bn-mode`` picks the generator's BatchNorm statistics: ``running`` (as trained, the default), ``batch``
(each batch of ``--batch-size`` images normalised by its own statistics, so images depend on the batch) or
``standing`` (re-estimated over ``--standing-batches`` passes of 50 samples at ``--truncation`` first).

Class names are those the checkpoint was trained with (a folder's sub-folder names for ``ImageFolder``),
matched case-insensitively; a config with ``model.num_classes='from_folder'`` takes the number from them.
"""
import argparse
import json
import os
import os.path as osp
from typing import List, Optional

import torch
from mmengine.config import Config
from PIL import Image

from sagan_plugin.apis import (class_grid_inputs, class_names, generate, image_grid, init_model, interpolate,
                               sampling_generator)
from sagan_plugin.apis.inference import read_state_dict
from sagan_plugin.datasets.folder_classes import FROM_FOLDER, resolve_num_classes
from sagan_plugin.engine.output_paths import check_output_file, check_output_folder
from sagan_plugin.models.bn_modes import BN_MODES


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='config file of the model')
    parser.add_argument('checkpoint', help='runner checkpoint or converted checkpoint (generator.* keys)')
    which = parser.add_mutually_exclusive_group()
    which.add_argument('--classes', nargs='+', help='class ids or names (default: every class)')
    which.add_argument('--all-classes', action='store_true', help='every class (the default)')
    parser.add_argument(
        '--per-class',
        type=int,
        default=8,
        help='images per class (grid rows); pairs or z '
        'per row with --interpolate')
    parser.add_argument('--truncation', type=float, help='truncation trick: |z_i| <= T (default: none)')
    parser.add_argument('--seed', type=int, default=0, help='seed of z; the same seed gives the same images')
    parser.add_argument('--out', help='grid PNG to write')
    parser.add_argument(
        '--out-dir', help='folder for one PNG per image and manifest.json (file -> class, seed)')
    parser.add_argument(
        '--interpolate',
        choices=['latent', 'class'],
        help='rows interpolate between two z '
        '(latent) or between consecutive classes of --classes (class)')
    parser.add_argument('--steps', type=int, default=8, help='images per interpolation row')
    parser.add_argument('--no-ema', action='store_true', help='use the raw generator even if there is an EMA')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--batch-size', type=int, default=64, help='images per generator forward')
    parser.add_argument(
        '--bn-mode',
        choices=BN_MODES,
        default='running',
        help='BatchNorm statistics: running (as trained), batch (of each generated batch), standing '
        '(re-estimated from the generator\'s own samples at --truncation)')
    parser.add_argument(
        '--standing-batches',
        type=int,
        default=100,
        help='forward passes of 50 samples that estimate the standing statistics')
    args = parser.parse_args(argv)
    if not (args.out or args.out_dir):
        parser.error('nothing to write: give --out grid.png and/or --out-dir DIR')
    if args.interpolate and args.out_dir:
        parser.error('--out-dir writes class samples; with --interpolate give --out')
    if args.standing_batches < 1:
        parser.error(f'--standing-batches must be >= 1, got {args.standing_batches}')
    if args.truncation is not None and not args.truncation > 0:
        parser.error(f'--truncation must be > 0, got {args.truncation}')
    return args


def write_folder(out_dir: str, images: torch.Tensor, labels: Optional[torch.Tensor], names: Optional[list],
                 start: int) -> List[dict]:
    """Write images ``start, start+1, ...`` (labels: all N ids, or None) as PNGs; their manifest entries."""
    entries = []
    for i, image in enumerate(images, start):
        entry = dict(file=f'{i:06d}.png', index=i)
        if labels is not None:
            label = int(labels[i])
            entry.update(
                file=f'{i:06d}_class{label:03d}.png',
                class_id=label,
                class_name=names[label] if names else None)
        Image.fromarray(image.permute(1, 2, 0).numpy()).save(osp.join(out_dir, entry['file']))
        entries.append(entry)
    return entries


def sample_grid(args: argparse.Namespace, model: torch.nn.Module, use_ema: Optional[bool]) -> None:
    """Class samples: a grid and/or a folder of PNGs with a manifest, written batch by batch."""
    inputs = class_grid_inputs(model, args.classes, args.per_class, args.truncation, args.seed)
    if args.out_dir:
        os.makedirs(args.out_dir, exist_ok=True)
    batches, entries = [], []
    batches_in = generate(
        model,
        inputs.noise,
        inputs.labels,
        args.batch_size,
        use_ema,
        progress=True,
        bn_mode=args.bn_mode,
        truncation=args.truncation,
        standing=standing_options(args))
    for batch in batches_in:
        if args.out_dir:
            entries += write_folder(args.out_dir, batch, inputs.labels, class_names(model), len(entries))
        if args.out:
            batches.append(batch)
    if args.out_dir:
        manifest = dict(
            config=args.config,
            checkpoint=args.checkpoint,
            seed=args.seed,
            truncation=args.truncation,
            ema=sampling_generator(model, use_ema)[1],
            bn_mode=args.bn_mode,
            batch_size=args.batch_size if args.bn_mode == 'batch' else None,
            standing_batches=args.standing_batches if args.bn_mode == 'standing' else None,
            images=entries)
        with open(osp.join(args.out_dir, 'manifest.json'), 'w') as f:
            json.dump(manifest, f, indent=1)
        print(f'{len(entries)} images and manifest.json written to {args.out_dir}')
    if args.out:
        save(args.out, image_grid(torch.cat(batches), inputs.ncol, inputs.col_titles))


def standing_options(args: argparse.Namespace) -> Optional[dict]:
    """The standing passes of ``--bn-mode standing`` (None otherwise)."""
    return dict(num_batches=args.standing_batches) if args.bn_mode == 'standing' else None


def save(path: str, picture) -> None:
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    Image.fromarray(picture).save(path)
    print(f'wrote {path} ({picture.shape[1]}x{picture.shape[0]})')


def check_outputs(args: argparse.Namespace) -> None:
    """Fail before loading and generating when ``--out`` or ``--out-dir`` cannot be written."""
    if args.out:
        check_output_file(args.out, '--out', example='grid.png')
    if args.out_dir:
        check_output_folder(args.out_dir, '--out-dir')


def load_config(config: str, checkpoint: str) -> Config:
    """The config, with ``model.num_classes='from_folder'`` resolved from the classes the checkpoint was
    trained with (its ``dataset_meta``), else from the config's folder."""
    cfg = Config.fromfile(config)
    if cfg.model.get('num_classes') == FROM_FOLDER:
        classes = (read_state_dict(checkpoint)[1].get('dataset_meta') or {}).get('classes')
        if classes is not None:
            cfg.model.num_classes = len(classes)
        else:
            resolve_num_classes(cfg)
    return cfg


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    check_outputs(args)
    model = init_model(load_config(args.config, args.checkpoint), args.checkpoint, device=args.device)
    use_ema = False if args.no_ema else None
    _, ema = sampling_generator(model, use_ema)
    print('generator: ' + ('EMA weights (generator_ema)' if ema else 'raw weights (generator)' +
                           ('' if args.no_ema else '; the checkpoint has no EMA weights')) +
          f'; BatchNorm statistics: {args.bn_mode}')
    if args.interpolate:
        samples = interpolate(
            model,
            args.interpolate,
            args.classes,
            args.steps,
            args.per_class,
            args.truncation,
            args.seed,
            args.batch_size,
            use_ema,
            progress=True,
            bn_mode=args.bn_mode,
            standing=standing_options(args))
        save(args.out, image_grid(samples.images, samples.ncol, row_titles=samples.row_titles))
    else:
        sample_grid(args, model, use_ema)


if __name__ == '__main__':
    main()
