"""load_image_set: folders (flat, class sub-folders, tools/sample.py's manifest, explicit manifests), .npz,
and a clear error for every input that would change the score in silence."""
import json

import numpy as np
import pytest
import torch
from PIL import Image

from sagan_plugin.evaluation.image_sets import load_image_set

CLASSES = ['T-shirt/top', 'Trouser', 'Pullover']


def pixels(count: int, size: int = 8, seed: int = 0) -> np.ndarray:
    """uint8 RGB [count, size, size, 3] noise."""
    return np.random.default_rng(seed).integers(0, 256, (count, size, size, 3), dtype=np.uint8)


def write(folder, images: np.ndarray, names=None, mode: str = 'RGB') -> list:
    """Save ``images`` [N, H, W, 3] as PNGs ``names`` (default 0.png, 1.png, ...) in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    names = names or [f'{i}.png' for i in range(len(images))]
    for name, image in zip(names, images):
        Image.fromarray(image).convert(mode).save(folder / name)
    return names


def as_nhwc(images: torch.Tensor) -> np.ndarray:
    return images.permute(0, 2, 3, 1).numpy()


def test_flat_folder_is_read_exactly_in_name_order(tmp_path):
    images = pixels(3)
    write(tmp_path, images, ['b.png', 'a.png', 'c.png'])
    (tmp_path / 'notes.txt').write_text('left out, and said so')
    loaded, labels = load_image_set(str(tmp_path), resolution=8, class_names=CLASSES)
    assert loaded.dtype == torch.uint8 and loaded.shape == (3, 3, 8, 8) and labels is None
    assert (as_nhwc(loaded) == images[[1, 0, 2]]).all()  # a.png, b.png, c.png


def test_grey_is_repeated_and_opaque_alpha_dropped(tmp_path):
    images = pixels(2)
    write(tmp_path / 'grey', images, mode='L')
    write(tmp_path / 'rgba', images, mode='RGBA')  # alpha 255 everywhere
    grey, _ = load_image_set(str(tmp_path / 'grey'))
    expected = np.asarray(Image.fromarray(images[0]).convert('L'))
    assert (grey[0] == torch.from_numpy(expected.copy())).all()  # each of the 3 channels
    assert (as_nhwc(load_image_set(str(tmp_path / 'rgba'))[0]) == images).all()


def test_class_folders_by_name_or_id(tmp_path):
    images = pixels(4)
    write(tmp_path / 't-shirt_top', images[:1])  # "/" written "_", any case
    write(tmp_path / 'PULLOVER', images[1:3])
    write(tmp_path / '1', images[3:])  # a class id
    loaded, labels = load_image_set(str(tmp_path), 8, CLASSES)
    assert labels.dtype == np.int64 and labels.tolist() == [1, 2, 2, 0]  # folders in name order
    assert (as_nhwc(loaded) == images[[3, 1, 2, 0]]).all()
    write(tmp_path / 'Sandal', images[:1])
    with pytest.raises(
            ValueError,
            match=r"class folder 'Sandal'.*not one of the model's classes: 0 "
            r"'T-shirt/top', 1 'Trouser', 2 'Pullover'"):
        load_image_set(str(tmp_path), 8, CLASSES)
    assert load_image_set(str(tmp_path), 8, None)[1] is None  # unconditional: every image, no classes
    write(tmp_path, images[:1], ['loose.png'])
    with pytest.raises(
            ValueError, match=r'class sub-folders and 1 images beside them, in no class \(e.g. '
            r'.*loose.png\)'):
        load_image_set(str(tmp_path), 8, CLASSES)


def test_sample_tool_manifest(tmp_path):
    """The format tools/sample.py --out-dir writes (tests/tools/test_sample.py checks the tool writes it)."""
    images = pixels(3)
    names = write(tmp_path, images, [f'{i:06d}_class{c:03d}.png' for i, c in enumerate((2, 0, 2))])
    entries = [
        dict(file=n, index=i, class_id=c, class_name=CLASSES[c])
        for i, (n, c) in enumerate(zip(names, (2, 0, 2)))
    ]
    (tmp_path / 'manifest.json').write_text(json.dumps(dict(seed=0, images=entries)))
    loaded, labels = load_image_set(str(tmp_path), 8, CLASSES)
    assert labels.tolist() == [2, 0, 2] and (as_nhwc(loaded) == images).all()
    entries[1]['class_name'] = 'Sneaker'  # written by a model whose class 0 is another
    (tmp_path / 'manifest.json').write_text(json.dumps(dict(images=entries)))
    with pytest.raises(
            ValueError,
            match=r"000001_class000.png is class 0 named 'Sneaker', but the model's "
            r"class 0 is 'T-shirt/top'"):
        load_image_set(str(tmp_path), 8, CLASSES)


def test_explicit_manifests_json_and_csv(tmp_path):
    images = pixels(3)
    write(tmp_path / 'imgs', images)
    csv = tmp_path / 'classes.csv'
    csv.write_text('file,class\n2.png,trouser\n0.png,0\n1.png,Pullover\n')
    loaded, labels = load_image_set(str(tmp_path / 'imgs'), 8, CLASSES, manifest=str(csv))
    assert labels.tolist() == [1, 0, 2] and (as_nhwc(loaded) == images[[2, 0, 1]]).all()
    mapping = tmp_path / 'classes.json'
    mapping.write_text(json.dumps({'0.png': 'Trouser', '1.png': 2, '2.png': 'Bag'}))
    with pytest.raises(
            ValueError,
            match=r"classes.json: 2.png: class 'Bag' is not one of the model's classes: "
            r"0 'T-shirt/top'"):
        load_image_set(str(tmp_path / 'imgs'), 8, CLASSES, manifest=str(mapping))
    mapping.write_text(json.dumps({'0.png': 'Trouser', '1.png': 7, '2.png': 0}))
    with pytest.raises(ValueError, match=r'1.png: class id 7 is outside \[0, 3\)'):
        load_image_set(str(tmp_path / 'imgs'), 8, CLASSES, manifest=str(mapping))


def test_manifest_and_folder_must_agree(tmp_path):
    write(tmp_path / 'imgs', pixels(3))
    partial = tmp_path / 'partial.csv'
    partial.write_text('0.png,0\n1.png,1\n')
    with pytest.raises(
            ValueError, match=r'holds 1 images that manifest .*partial.csv does not list, e.g. '
            r'.*imgs/2.png'):
        load_image_set(str(tmp_path / 'imgs'), 8, CLASSES, manifest=str(partial))
    extra = tmp_path / 'extra.csv'
    extra.write_text('0.png,0\n1.png,1\n2.png,1\n9.png,1\n')
    with pytest.raises(FileNotFoundError, match=r'lists 1 files that do not exist, e.g. .*9.png'):
        load_image_set(str(tmp_path / 'imgs'), 8, CLASSES, manifest=str(extra))
    half = tmp_path / 'half.csv'
    half.write_text('0.png,0\n1.png\n2.png,1\n')
    with pytest.raises(ValueError, match='1.png has no class but other images have one'):
        load_image_set(str(tmp_path / 'imgs'), 8, CLASSES, manifest=str(half))


def test_npz_in_either_layout_with_labels(tmp_path):
    images = pixels(4)
    np.savez(tmp_path / 'hwc.npz', images=images, labels=np.array([0, 2, 1, 1]))
    np.savez(tmp_path / 'chw.npz', images=images.transpose(0, 3, 1, 2), labels=np.array(['trouser'] * 4))
    loaded, labels = load_image_set(str(tmp_path / 'hwc.npz'), 8, CLASSES)
    assert (as_nhwc(loaded) == images).all() and labels.tolist() == [0, 2, 1, 1]
    loaded, labels = load_image_set(str(tmp_path / 'chw.npz'), 8, CLASSES)
    assert (as_nhwc(loaded) == images).all() and labels.tolist() == [1] * 4
    assert load_image_set(str(tmp_path / 'hwc.npz'), 8, None)[1] is None


@pytest.mark.parametrize(
    'arrays, message',
    [(dict(images=pixels(3), labels=np.array([0, 3, -1])), r'labels\[1\] \(and 1 more outside the range\): '
      r'class id 3 is outside \[0, 3\)'),
     (dict(images=pixels(3), labels=np.array([0, 1])), r'"labels" must be \[N\] = \[3\]'),
     (dict(arr_0=pixels(3)), r'has no "images" array \(it holds \[\'arr_0\'\]\)'),
     (dict(images=pixels(3).astype(np.float32) / 255), r'"images" must be uint8 .* got float32'),
     (dict(images=pixels(3, size=16)), r'the images are 16x16, expected 8x8')])
def test_bad_npz(tmp_path, arrays, message):
    np.savez(tmp_path / 'set.npz', **arrays)
    with pytest.raises(ValueError, match=message):
        load_image_set(str(tmp_path / 'set.npz'), 8, CLASSES)


def test_wrong_and_mixed_sizes_name_the_files(tmp_path):
    write(tmp_path / 'big', pixels(2, size=16))
    with pytest.raises(
            ValueError,
            match=r'2 of 2 images are not 8x8, the size of the real images .* e.g. '
            r'.*big/0.png \(16x16\), .*big/1.png \(16x16\)'):
        load_image_set(str(tmp_path / 'big'), resolution=8)
    write(tmp_path / 'mixed', pixels(2), ['a.png', 'b.png'])
    write(tmp_path / 'mixed', pixels(1, size=12), ['c.png'])
    with pytest.raises(
            ValueError,
            match=r'1 of 3 images are not 8x8, the size of the first image, .*a.png '
            r'\(a set has one size\); e.g. .*c.png \(12x12\)'):
        load_image_set(str(tmp_path / 'mixed'))


def test_modes_that_would_need_a_choice_are_refused(tmp_path):
    rgba = np.concatenate([pixels(1)[0], np.full((8, 8, 1), 255, np.uint8)], axis=2)
    rgba[0, 0, 3] = 10
    (tmp_path / 'alpha').mkdir()
    Image.fromarray(rgba, 'RGBA').save(tmp_path / 'alpha' / 'x.png')
    with pytest.raises(ValueError, match=r'alpha/x.png has transparency \(1 pixels with alpha < 255\)'):
        load_image_set(str(tmp_path / 'alpha'))
    (tmp_path / 'deep').mkdir()
    Image.fromarray(np.full((8, 8), 40000, np.uint16)).save(tmp_path / 'deep' / 'x.png')
    with pytest.raises(ValueError, match=r'deep/x.png has mode I;16 \(16-bit or float\)'):
        load_image_set(str(tmp_path / 'deep'))


def test_unreadable_empty_and_missing_inputs(tmp_path):
    write(tmp_path / 'cut', pixels(2, size=64))
    data = (tmp_path / 'cut' / '1.png').read_bytes()
    (tmp_path / 'cut' / '1.png').write_bytes(data[:len(data) // 2])
    with pytest.raises(ValueError, match=r'image .*cut/1.png cannot be read \(truncated or corrupt'):
        load_image_set(str(tmp_path / 'cut'))
    (tmp_path / 'cut' / '1.png').write_bytes(b'')
    with pytest.raises(ValueError, match=r'cut/1.png cannot be read \(the file is empty: 0 bytes\)'):
        load_image_set(str(tmp_path / 'cut'))
    (tmp_path / 'empty').mkdir()
    with pytest.raises(ValueError, match='empty: no image files'):
        load_image_set(str(tmp_path / 'empty'))
    with pytest.raises(FileNotFoundError, match='nowhere does not exist'):
        load_image_set(str(tmp_path / 'nowhere'))
    (tmp_path / 'x.pt').write_bytes(b'0')
    with pytest.raises(ValueError, match=r'x.pt: expected a folder of images or an .npz file'):
        load_image_set(str(tmp_path / 'x.pt'))
