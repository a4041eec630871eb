import pytest
import torch

from napari_clickseg.models.vit import (
    PlainViT,
    block_is_global,
    check_grid,
    window_merge,
    window_partition,
)


@pytest.mark.parametrize(
    ("depth", "global_blocks"),
    [
        (12, [5, 11]),  # ViT-B: group 6
        (24, [5, 11, 17, 23]),  # ViT-L: group 6
        (32, [7, 15, 23, 31]),  # ViT-H: group 8
        (8, [1, 3, 5, 7]),  # xTiny: group 2
    ],
)
def test_official_window_schedule(depth, global_blocks):
    assert [i for i in range(depth) if block_is_global(i, depth)] == global_blocks


def test_window_partition_groups_224px_windows_row_major():
    grid = (28, 28)
    tokens = torch.arange(28 * 28, dtype=torch.float32).view(1, 28 * 28, 1)
    windows = window_partition(tokens, grid, patch_size=16)
    assert windows.shape == (4, 196, 1)
    # window 1 is the top-right 14x14 block: its first token is (row 0, col 14)
    assert windows[1, 0, 0] == 14
    # second row of window 0 starts at token (1, 0)
    assert windows[0, 14, 0] == 28
    assert torch.equal(window_merge(windows, grid, 16), tokens)


def test_window_partition_patch14_uses_16_token_windows():
    tokens = torch.randn(2, 32 * 32, 3)
    windows = window_partition(tokens, (32, 32), patch_size=14)
    assert windows.shape == (8, 256, 3)
    assert torch.equal(window_merge(windows, (32, 32), 14), tokens)


def test_window_partition_672_gives_nine_windows():
    tokens = torch.randn(1, 42 * 42, 2)
    assert window_partition(tokens, (42, 42), 16).shape == (9, 196, 2)


def test_grid_that_windows_cannot_tile_is_refused():
    with pytest.raises(ValueError, match="cannot tile"):
        check_grid((31, 31), 16)
    with pytest.raises(ValueError, match="cannot tile"):
        check_grid((10, 28), 16)


def test_depth_must_be_multiple_of_four():
    with pytest.raises(ValueError, match="multiple of 4"):
        PlainViT(depth=6, embed_dim=8, num_heads=2)


def test_positional_embedding_identity_at_trained_size_and_bicubic_otherwise():
    vit = PlainViT(img_size=448, patch_size=16, embed_dim=8, depth=4, num_heads=2)
    stored = vit.pos_embed[:, 1:]
    assert torch.equal(vit.positional_embedding((28, 28)), stored)
    resized = vit.positional_embedding((42, 42))
    grid = stored.reshape(1, 28, 28, 8).permute(0, 3, 1, 2)
    expected = torch.nn.functional.interpolate(
        grid, size=(42, 42), mode="bicubic", align_corners=False
    )
    assert torch.allclose(resized, expected.permute(0, 2, 3, 1).flatten(1, 2))


def test_windowed_blocks_do_not_mix_windows():
    """A windowed-only prefix must not let a token see other windows."""
    vit8 = PlainViT(img_size=448, patch_size=16, embed_dim=8, depth=8, num_heads=2).eval()
    assert not block_is_global(0, 8)
    x = torch.randn(1, 784, 8)
    y = x.clone()
    y[0, 27] += 5.0  # token (0, 27): top-right window
    block = vit8.blocks[0]
    with torch.no_grad():
        out_x = window_merge(block(window_partition(x, (28, 28), 16)), (28, 28), 16)
        out_y = window_merge(block(window_partition(y, (28, 28), 16)), (28, 28), 16)
    changed = (out_x - out_y).abs().sum(-1)[0].view(28, 28) > 0
    assert changed[:14, 14:].any()
    assert not changed[:14, :14].any() and not changed[14:].any()
