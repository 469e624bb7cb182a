"""``model.num_classes='from_folder'``: the number of classes read from the training folder when the config
is loaded, after ``--cfg-options`` / ``--data-root`` have moved the folder, before the model is built (its
class embeddings need the number)."""
from typing import List, Optional

from mmengine.config import Config
from mmengine.logging import print_log

from .folder_scan import IMAGE_EXTENSIONS, scan_folder

FROM_FOLDER = 'from_folder'
_FOLDER_TYPES = ('ImageFolder', 'sagan_plugin.ImageFolder')


def _folder_dataset(cfg: Config) -> Optional[dict]:
    """The training dataset config when it is an ``ImageFolder`` (inside wrappers too), else None."""
    dataset = (cfg.get('train_dataloader') or {}).get('dataset')
    while isinstance(dataset, dict):
        if dataset.get('type') in _FOLDER_TYPES:
            return dataset
        dataset = dataset.get('dataset')
    return None


def folder_class_names(dataset: dict) -> List[str]:
    """Class names an ``ImageFolder`` config will find (empty when ``conditional=False``)."""
    root = dataset.get('data_root', '')
    prefix = dataset.get('data_prefix') or ''
    prefix = prefix.get('gt_path', '') if isinstance(prefix, dict) else prefix
    scan = scan_folder(
        f'{root}/{prefix}' if prefix else root,
        conditional=dataset.get('conditional', True),
        min_images_per_class=dataset.get('min_images_per_class', 1),
        extensions=dataset.get('extensions', IMAGE_EXTENSIONS))
    return scan.classes


def resolve_num_classes(cfg: Config) -> None:
    """Set ``cfg.model.num_classes`` from the training folder when it is ``'from_folder'``; an explicit
    number that disagrees with the folder is a ValueError naming both (before the model is built)."""
    model = cfg.get('model') or {}
    wanted = model.get('num_classes')
    dataset = _folder_dataset(cfg)
    if dataset is None:
        if wanted == FROM_FOLDER:
            raise ValueError("model.num_classes='from_folder' needs train_dataloader.dataset of type "
                             'ImageFolder; set model.num_classes to a number')
        return
    names = folder_class_names(dataset)
    if wanted == FROM_FOLDER:
        model['num_classes'] = len(names)
        print_log(f'model.num_classes={len(names)} from the class folders of {dataset.get("data_root")}',
                  'current')
    elif wanted is not None and wanted != len(names):
        found = f'{len(names)} class folders ({", ".join(names[:5])}{", ..." if len(names) > 5 else ""})' \
            if names else 'no classes (conditional=False)'
        raise ValueError(f'model.num_classes={wanted} but {dataset.get("data_root")} has {found}; remove the '
                         "setting (model.num_classes='from_folder' counts them) or fix the folder")
