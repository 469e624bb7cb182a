"""Bad images and bad lists in an ImageNet-layout folder of real photos: named, early, never silent."""
import os.path as osp

import pytest
from PIL import Image

from sagan_plugin.registry import DATASETS
from tests.reliability.conftest import make_imagenet

PIPELINE = [dict(type='LoadImageFromFile', key='gt'), dict(type='PackInputs')]


@pytest.fixture
def root(tmp_path):
    return make_imagenet(tmp_path / 'imagenet', num_images=6)


def build(root, **kwargs):
    cfg = dict(
        type='ImageNet', data_root=root, ann_file='meta/train.txt', data_prefix='train', pipeline=PIPELINE)
    return DATASETS.build(dict(cfg, **kwargs))


def first_image(root):
    with open(osp.join(root, 'meta', 'train.txt')) as f:
        return osp.join(root, 'train', f.readline().split()[0])


def append_line(root, line):
    with open(osp.join(root, 'meta', 'train.txt'), 'a') as f:
        f.write(line + '\n')


def test_good_folder_loads_real_photos(root):
    dataset = build(root)
    assert len(dataset) == 6
    item = dataset[0]
    assert item['data_samples'].gt_img.shape[0] == 3 and int(item['data_samples'].gt_label.label) < 1000


def test_missing_listed_file_is_an_error_before_training(root):
    append_line(root, 'n00000001/missing_photo.JPEG 1')
    with pytest.raises(
            FileNotFoundError, match=r"1 images listed in .*train.txt do not exist.*missing_photo"):
        build(root)


def test_missing_files_can_be_skipped_and_counted(root, mm_log):
    append_line(root, 'n00000001/missing_photo.JPEG 1')
    dataset = build(root, bad_images='skip')
    assert len(dataset) == 6
    assert any('leaving out 1 missing images' in m and 'missing_photo' in m for m in mm_log)


@pytest.mark.parametrize('line, match', [
    ('n00000001/no_label.JPEG', r'train.txt:7: expected "<image path> <integer label>"'),
    ('n00000001/word_label.JPEG dog', r'train.txt:7: expected'),
    ('n00000001/too_big.JPEG 1000', r'train.txt:7: label 1000 is outside \[0, 1000\)'),
])
def test_malformed_list_line_names_file_and_line(root, line, match):
    append_line(root, line)
    with pytest.raises(ValueError, match=match):
        build(root)


def test_missing_annotation_file_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match=r'annotation file .*nowhere.*meta/train.txt does not exist'):
        build(str(tmp_path / 'nowhere'))


def test_empty_annotation_file(root):
    open(osp.join(root, 'meta', 'train.txt'), 'w').close()
    with pytest.raises(ValueError, match='train.txt lists no images'):
        build(root)


def test_bad_images_setting_is_checked(root):
    with pytest.raises(ValueError, match="bad_images must be one of .*'sometimes'"):
        build(root, bad_images='sometimes')


@pytest.mark.parametrize('damage', ['truncate', 'overwrite'])
def test_unreadable_image_names_the_file(root, damage):
    path = first_image(root)
    data = open(path, 'rb').read()
    with open(path, 'wb') as f:  # a copy cut short, or a file whose bytes were replaced
        f.write(data[:len(data) // 3] if damage == 'truncate' else b'\0' * len(data))
    dataset = build(root)
    with pytest.raises(ValueError, match=f'image {path} cannot be read'):
        dataset[0]


def test_unreadable_image_is_skipped_in_training_when_asked(root, mm_log):
    path = first_image(root)
    data = open(path, 'rb').read()
    open(path, 'wb').write(data[:len(data) // 3])
    dataset = build(root, bad_images='skip')
    item = dataset[0]  # another image instead
    assert item['data_samples'].gt_img.shape[0] == 3 and dataset.skipped == 1
    assert any(f'skipped unreadable image {path}' in m for m in mm_log)
    evaluation = build(root, bad_images='skip', test_mode=True)
    with pytest.raises(ValueError, match='cannot be read'):  # statistics must not silently change
        evaluation[0]


@pytest.mark.parametrize('mode', ['L', 'RGBA'])
def test_grey_and_rgba_images_are_converted_and_said_once(root, mode, mm_log):
    path = first_image(root)
    Image.open(path).convert(mode).save(path, format='PNG')  # still named .JPEG, as in the wild
    dataset = build(root)
    shapes = [dataset[i]['data_samples'].gt_img.shape[0] for i in (0, 0, 1)]
    assert shapes == [3, 3, 3]
    notes = [m for m in mm_log if 'converts such images' in m]
    assert len(notes) == 1 and f'{path} is a {mode} image' in notes[0]


@pytest.mark.parametrize('num_samples, match', [(0, 'num_samples must be a positive integer'),
                                                (70_000, r'num_samples=70000 but .*has only 60000 images')])
def test_fashion_mnist_num_samples(num_samples, match):
    with pytest.raises(ValueError, match=match):
        DATASETS.build(dict(type='FashionMNIST', num_samples=num_samples))
