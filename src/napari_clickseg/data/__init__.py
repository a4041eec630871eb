"""Data sets, synthetic generators and napari sample data."""
