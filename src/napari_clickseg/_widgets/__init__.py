"""Qt and napari glue: the annotation dock and the widgets it is built from.

Nothing here computes a mask; the algorithms live in :mod:`napari_clickseg.engine`.
"""
