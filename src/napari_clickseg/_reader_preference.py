"""Make napari open NIfTI files with this plugin's reader without asking, where that is safe.

napari's own reader ("napari builtins") also claims ``*.nii`` and ``*.nii.gz`` (through imageio's
list of extensions), but a plain napari install has no imageio backend that reads NIfTI: it fails
with "Could not find a backend". With two candidate readers napari asks the user to choose
(``napari case.nii.gz``, drag and drop) or, for ``viewer.open(path)`` in a script, uses its own
reader unless told ``plugin="napari-clickseg"``.

When this plugin is activated (npe2 ``on_activate``: the first time napari uses any of its
commands) :func:`prefer_for_nifti` records this plugin as napari's reader preference for
``*.nii`` and ``*.nii.gz`` (*Preferences > Plugins > File extension readers*), but only for a
pattern that has no preference yet and only while no third plugin claims it; a user's own choice is
never replaced. See ``docs/files.md``.
"""

from __future__ import annotations

import logging
from typing import Any

__all__ = ["NIFTI_PATTERNS", "PLUGIN_NAME", "activate", "prefer_for_nifti"]

PLUGIN_NAME = "napari-clickseg"
#: File patterns this plugin asks napari to read with it.
NIFTI_PATTERNS = ("*.nii", "*.nii.gz")
#: Readers that may share a pattern for the preference to be set (napari's own cannot read NIfTI).
_SHARING_READERS = {PLUGIN_NAME, "napari"}

_log = logging.getLogger(__name__)


def prefer_for_nifti(settings: Any = None) -> list[str]:
    """Record this plugin as napari's reader for NIfTI patterns nobody chose a reader for.

    Parameters
    ----------
    settings : napari.settings.NapariSettings, optional
        The settings to change (default: napari's, saved to its settings file).

    Returns
    -------
    list of str
        The patterns that were set (empty when every pattern already had a reader preference,
        or when another plugin also reads it and the choice is left to the user).
    """
    from napari.plugins import _npe2

    if settings is None:
        from napari.settings import get_settings

        settings = get_settings()
    chosen = dict(settings.plugins.extension2reader)
    added = []
    for pattern in NIFTI_PATTERNS:
        example = "image" + pattern[1:]
        if any(_matches(example, existing) for existing in chosen):
            continue  # the user's choice (e.g. "*.gz" from napari's dialog) stays
        readers = set(_npe2.get_readers(example))
        if PLUGIN_NAME in readers and readers <= _SHARING_READERS:
            chosen[pattern] = PLUGIN_NAME
            added.append(pattern)
    if added:
        settings.plugins.extension2reader = chosen
    return added


def _matches(name: str, pattern: str) -> bool:
    from fnmatch import fnmatch

    return fnmatch(name, pattern)


def activate(context: Any = None) -> None:
    """npe2 activation hook: :func:`prefer_for_nifti`, never failing the plugin's activation."""
    try:
        added = prefer_for_nifti()
    except Exception:  # e.g. napari settings that cannot be written: napari then asks
        _log.warning("could not record napari-clickseg as the NIfTI reader", exc_info=True)
        return
    if added:
        _log.info("napari-clickseg is now napari's reader for %s", ", ".join(added))
