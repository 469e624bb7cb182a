"""Pictures of a SAGAN, shared by the training hooks (:mod:`sagan_plugin.engine`) and the user API
(:mod:`sagan_plugin.apis`, which re-exports them): the paper's attention maps (``attention.py``) and their
figure (``attention_figure.py``, PIL and mmengine's visualizer), and titled image grids (``grid.py``,
torchvision's ``make_grid``). It imports only :mod:`sagan_plugin.models` and registers nothing; the package
imports no submodule, so the attention hook does not load the grid's dependencies."""
