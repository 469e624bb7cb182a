"""ImageFolder on tiny folders each test writes itself: layout, alpha, cache, and every kind of bad input."""
import os
import struct
import zlib

import numpy as np
import pytest
from mmengine.config import Config
from PIL import Image

from sagan_plugin.datasets.folder_classes import resolve_num_classes
from sagan_plugin.evaluation.stats_cache import check_stats, dataset_fingerprint, make_stats
from sagan_plugin.registry import DATA_SAMPLERS, DATASETS


def write_image(path, size=(8, 8), mode='RGB', colour=(200, 30, 30), fmt=None):
    """A small image file (parents created); ``colour`` fills it (a tuple of the mode's bands)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, colour).save(path, format=fmt)
    return path


def make_folder(root, classes=('cat', 'dog'), per_class=2):
    for name in classes:
        for i in range(per_class):
            write_image(root / name / f'{i}.png', colour=(10 * i, 100, 200))
    return root


def build(root, **kwargs):
    cfg = dict(type='ImageFolder', data_root=str(root), image_size=16, pipeline=[dict(type='PackInputs')])
    return DATASETS.build(dict(cfg, **kwargs))


def test_classes_from_top_folders_nested_images_belong_to_them(tmp_path):
    root = make_folder(tmp_path / 'data')
    write_image(root / 'cat' / 'indoor' / 'sofa' / 'deep.png')
    dataset = build(root)
    assert dataset.metainfo['classes'] == ('cat', 'dog')
    labels = {
        os.path.relpath(dataset.get_data_info(i)['gt_path'], root): dataset.get_data_info(i)['gt_label']
        for i in range(len(dataset))
    }
    assert labels == {
        'cat/0.png': 0,
        'cat/1.png': 0,
        'cat/indoor/sofa/deep.png': 0,
        'dog/0.png': 1,
        'dog/1.png': 1
    }
    assert dataset[0]['data_samples'].gt_img.shape == (3, 16, 16)


@pytest.mark.parametrize('background', [(255, 255, 255), (0, 255, 0)])
def test_transparent_pixels_take_the_background_colour(tmp_path, mm_log, background):
    root = tmp_path / 'data'
    # fully transparent, with black (an arbitrary colour) under the alpha channel
    write_image(root / 'a' / 'clear.png', mode='RGBA', colour=(0, 0, 0, 0))
    write_image(root / 'a' / 'solid.png', colour=(200, 30, 30))
    dataset = build(root, background=background, cache='memory')
    pixels = {
        os.path.basename(dataset.get_data_info(i)['gt_path']): dataset.get_data_info(i)['gt']
        for i in range(2)
    }
    assert (pixels['clear.png'] == np.array(background[::-1])).all()  # BGR
    assert (pixels['solid.png'] == np.array((30, 30, 200))).all()
    assert any('1 of 2 images have transparency' in m and str(background) in m for m in mm_log)


def test_empty_class_and_non_image_files_are_named_not_silent(tmp_path, mm_log):
    root = make_folder(tmp_path / 'data')
    (root / 'empty').mkdir()
    for name in ('.DS_Store', 'Thumbs.db', 'notes.txt'):
        (root / 'cat' / name).write_bytes(b'not an image')
    dataset = build(root)
    assert dataset.metainfo['classes'] == ('cat', 'dog') and len(dataset) == 4
    log = '\n'.join(mm_log)
    assert "'empty' (0)" in log and 'fewer than min_images_per_class=1' in log
    assert '2 files that are not images' in log and 'Thumbs.db' in log and 'notes.txt' in log
    assert '1 hidden files and folders' in log and '.DS_Store' in log


def _truncate(root):
    """A truncated PNG and a truncated JPEG (the header intact, the pixels cut off) next to good images."""
    noise = Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8))
    for name, fmt in (('cut.png', 'PNG'), ('cut.jpg', 'JPEG')):
        noise.save(root / 'dog' / name, format=fmt)
        data = (root / 'dog' / name).read_bytes()
        (root / 'dog' / name).write_bytes(data[:len(data) // 2])


def test_zero_byte_image_is_named_at_start_or_skipped(tmp_path, mm_log):
    root = make_folder(tmp_path / 'data')
    (root / 'cat' / 'empty.png').write_bytes(b'')
    with pytest.raises(ValueError, match=r'empty\.png cannot be read \(the file is empty: 0 bytes\)'):
        build(root)
    assert len(build(root, bad_images='skip')) == 4
    assert any('skipped image' in m and 'empty.png' in m and '1 skipped so far' in m for m in mm_log)


def test_truncated_images_decoded_once_in_the_cache(tmp_path, mm_log):
    root = make_folder(tmp_path / 'data')
    _truncate(root)
    with pytest.raises(ValueError, match=r'cut\.(png|jpg) cannot be read'):
        build(root, cache='memory')
    dataset = build(root, cache='memory', bad_images='skip')
    assert len(dataset) <= 5 and 'cut.png' not in {dataset.get_data_info(i)['gt_path'][-7:] for i in range(4)}
    assert any('skipped image' in m and 'cut.png' in m for m in mm_log)


def test_truncated_images_decoded_when_drawn(tmp_path, mm_log):
    root = make_folder(tmp_path / 'data')
    _truncate(root)
    strict = build(root)
    index = [i for i in range(len(strict)) if strict.get_data_info(i)['gt_path'].endswith('cut.png')][0]
    with pytest.raises(ValueError, match=r'cut\.png cannot be read \(truncated or corrupt'):
        strict[index]
    lenient = build(root, bad_images='skip')
    assert lenient[index] is not None  # another image drawn in its place
    assert any('skipped image' in m and 'cut.png' in m for m in mm_log)
    with pytest.raises(ValueError, match=r'cut\.png cannot be read'):  # evaluation never skips in silence
        build(root, bad_images='skip', test_mode=True)[index]


def _png_header(path, width, height):
    """A PNG whose header claims width x height (a decompression bomb as PIL's limit sees it)."""

    def chunk(kind, data):
        return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data))

    ihdr = struct.pack('>IIBBBBB', width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', ihdr) + chunk(b'IDAT', zlib.compress(b'')) +
                     chunk(b'IEND', b''))


def test_decompression_bomb_is_refused_from_its_header(tmp_path):
    root = make_folder(tmp_path / 'data')
    _png_header(root / 'cat' / 'bomb.png', 100_000, 100_000)
    with pytest.raises(
            ValueError,
            match=r'bomb\.png cannot be read \(too large: 100000x100000 = '
            r'10,000,000,000 pixels.*above max_image_pixels=89,478,485'):
        build(root)
    assert len(build(root, bad_images='skip')) == 4


def test_symlink_loop_is_reported_not_followed(tmp_path, mm_log):
    root = make_folder(tmp_path / 'data')
    os.symlink(root / 'cat', root / 'cat' / 'again')
    dataset = build(root)
    assert len(dataset) == 4
    assert any('1 symbolic links not followed because they loop back' in m and 'again' in m for m in mm_log)


def test_class_names_with_spaces_and_non_ascii_letters(tmp_path):
    root = make_folder(tmp_path / 'data', classes=('garden tools', 'café crème', 'Ürün'))
    dataset = build(root)
    assert dataset.metainfo['classes'] == ('café crème', 'garden tools', 'Ürün')  # sorted by code point
    assert dataset.class_to_idx['Ürün'] == 2
    labels = {
        dataset.get_data_info(i)['gt_path'].split('/')[-2]: dataset.get_data_info(i)['gt_label']
        for i in range(len(dataset))
    }
    assert labels == {'café crème': 0, 'garden tools': 1, 'Ürün': 2}


def test_class_with_one_image_kept_or_left_out_by_name(tmp_path, mm_log):
    root = make_folder(tmp_path / 'data')
    write_image(root / 'lonely' / 'only.png')
    assert build(root).metainfo['classes'] == ('cat', 'dog', 'lonely')
    assert build(root, min_images_per_class=2).metainfo['classes'] == ('cat', 'dog')
    assert any("left out 1 classes with fewer than min_images_per_class=2 images: 'lonely' (1)" in m
               for m in mm_log)


def test_images_smaller_than_the_output_are_upsampled_and_said_once(tmp_path, mm_log):
    root = tmp_path / 'data'
    write_image(root / 'a' / 'tiny.png', size=(3, 2))
    write_image(root / 'a' / 'tinier.png', size=(2, 2))
    write_image(root / 'a' / 'big.png', size=(40, 20))
    dataset = build(root, cache='memory', fit='pad')
    assert all(dataset.get_data_info(i)['gt'].shape == (16, 16, 3) for i in range(3))
    said = [m for m in mm_log if 'smaller than image_size=16' in m]
    assert len(said) == 1 and said[0].startswith('ImageFolder: 2 images')


def _cfg(root, num_classes):
    return Config(
        dict(
            model=dict(type='SAGAN', num_classes=num_classes),
            train_dataloader=dict(dataset=dict(type='ImageFolder', data_root=str(root), image_size=16))))


def test_number_of_classes_from_the_folder_or_a_clear_error(tmp_path):
    root = make_folder(tmp_path / 'data', classes=('a', 'b', 'c'))
    cfg = _cfg(root, 'from_folder')
    resolve_num_classes(cfg)
    assert cfg.model.num_classes == 3
    resolve_num_classes(_cfg(root, 3))  # agrees: fine
    with pytest.raises(ValueError, match=r'model.num_classes=5 but .* has 3 class folders \(a, b, c\)'):
        resolve_num_classes(_cfg(root, 5))


def test_statistics_notice_a_folder_changed_since(tmp_path):
    root = make_folder(tmp_path / 'data')
    extractor = dict(name='net')
    stats = make_stats(np.zeros((4, 2)), extractor, dataset_fingerprint(build(root)), False)
    check_stats(stats, 'stats.pkl', extractor, dataset_fingerprint(build(root)), 4, False)  # unchanged: ok
    write_image(root / 'dog' / 'new.png')
    with pytest.raises(
            ValueError, match=r'dataset content: file has .4 images, sha256 .* metric uses .5 images'):
        check_stats(stats, 'stats.pkl', extractor, dataset_fingerprint(build(root)), None, False)
    os.remove(root / 'dog' / 'new.png')
    write_image(root / 'dog' / '0.png', colour=(1, 2, 3))  # same name, new pixels: size/time differ
    os.utime(root / 'dog' / '0.png', ns=(1, 1))
    with pytest.raises(ValueError, match='dataset content'):
        check_stats(stats, 'stats.pkl', extractor, dataset_fingerprint(build(root)), None, False)


def test_npy_cache_is_reused_and_rebuilt_when_the_folder_changes(tmp_path, mm_log):
    root = make_folder(tmp_path / 'data')
    cache = str(tmp_path / 'cache' / 'c.npy')
    first = build(root, cache=cache)
    assert os.path.isfile(cache) and any('decoding 4 images once (no cache' in m for m in mm_log)
    mm_log.clear()
    second = build(root, cache=cache)
    assert not any('decoding' in m for m in mm_log)
    assert all((first.get_data_info(i)['gt'] == second.get_data_info(i)['gt']).all() for i in range(4))
    write_image(root / 'cat' / 'new.png')
    assert len(build(root, cache=cache)) == 5
    assert any('was made from other files' in m for m in mm_log)
    assert len(build(root, cache=cache, image_size=8)) == 5 and any('other image_size' in m for m in mm_log)


def test_unconditional_folder_has_no_labels(tmp_path):
    root = make_folder(tmp_path / 'data')
    write_image(root / 'loose.png')
    dataset = build(root, conditional=False)
    assert len(dataset) == 5 and 'gt_label' not in dataset.get_data_info(0)
    with pytest.raises(ValueError, match=r'1 images lie directly in it .*loose\.png'):
        build(root)


def test_class_balanced_sampler_draws_classes_equally(tmp_path):
    root = make_folder(tmp_path / 'data', classes=('few', ), per_class=2)
    make_folder(root, classes=('many', ), per_class=18)
    dataset = build(root)
    stream = iter(DATA_SAMPLERS.build(dict(type='ClassBalancedInfiniteSampler', dataset=dataset, seed=0)))
    labels = [dataset.get_data_info(next(stream))['gt_label'] for _ in range(2000)]
    assert abs(np.mean(labels) - 0.5) < 0.05  # 2 vs 18 images, drawn ~1:1
