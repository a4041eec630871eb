"""The tiny model configurations the tests share (real structure, a few thousand parameters)."""


def tiny_simpleclick_config():
    """A SimpleClick config with the real structure and a few thousand parameters.

    Imports the model module only when called, so a test can build it after napari's OpenGL
    is up (timm pulls in torchvision and triton).
    """
    from napari_clickseg.models.simpleclick import SimpleClickConfig

    return SimpleClickConfig(
        img_size=448,
        patch_size=16,
        embed_dim=16,
        depth=8,
        num_heads=2,
        neck_out_dims=(8, 8, 8, 8),
        head_channels=8,
    )
