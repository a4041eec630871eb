"""Training: losses, click simulation, augmentation, SUEM copy-paste, and the trainer.

Building blocks (pure functions and small classes, no I/O):

- :mod:`.losses`: normalized focal loss (NFL), iterative click loss (ICL), PiClick set loss;
- :mod:`.click_sampler`: the official random initial clicks (``MultiPointSampler``);
- :mod:`.iterative_clicks`: error-region clicks and no-grad simulated click steps;
- :mod:`.augment`: geometric and colour augmentations of an image and its masks;
- :mod:`.copy_paste`: CFR-ICL's SUEM copy-paste.

Submodules are imported explicitly (``from napari_clickseg.training.losses import ...``) so
importing the package stays cheap.
"""
