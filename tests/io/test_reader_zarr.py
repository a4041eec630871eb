"""napari opens zarr / OME-Zarr volumes lazily through the plugin's reader."""

import zarr

from napari_clickseg._reader import get_reader, read_zarr_volume


def test_zarr_volume_opens_as_a_lazy_image_layer(tmp_path):
    group = zarr.open_group(str(tmp_path / "stack.ome.zarr"), mode="w")
    group.attrs["multiscales"] = [
        {
            "axes": [{"name": n} for n in "zyx"],
            "datasets": [
                {"path": "0", "coordinateTransformations": [{"type": "scale", "scale": [50, 4, 4]}]}
            ],
        }
    ]
    group.create_array("0", shape=(300, 2048, 2048), chunks=(1, 512, 512), dtype="u1")
    reader = get_reader(str(tmp_path / "stack.ome.zarr"))
    assert reader is read_zarr_volume
    [(data, meta, layer_type)] = reader(str(tmp_path / "stack.ome.zarr"))
    assert isinstance(data, zarr.Array) and data.shape == (300, 2048, 2048)  # not read
    assert layer_type == "image" and meta["name"] == "stack" and meta["scale"] == (50, 4, 4)
