"""Write the inference settings a model file recommends into its metadata.

    python tools/set_inference_defaults.py runs/stage5.safetensors OUT.safetensors \\
        --cfr-steps 4 --adaptive --cfr-min-view-shrink 3

The packaged default model carries the settings chosen on validation data
(docs/model_card.md); ``Predictor(model)``, ``clickseg`` without ``--cfr`` and the dock's
"model's" CFR entry run them.
"""

from __future__ import annotations

import argparse
import dataclasses

from napari_clickseg.engine.predictor import CFRSettings
from napari_clickseg.models.checkpoints import write_inference_defaults


def main() -> None:
    """Parse the options and write the copy."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source")
    parser.add_argument("target")
    parser.add_argument("--cfr-steps", type=int, required=True)
    parser.add_argument("--adaptive", action="store_true")
    parser.add_argument("--cfr-min-view-shrink", type=float, default=0.0)
    args = parser.parse_args()
    cfr = CFRSettings(
        steps=args.cfr_steps, adaptive=args.adaptive, min_view_shrink=args.cfr_min_view_shrink
    )
    values = {"cfr": dataclasses.asdict(cfr)}
    print(write_inference_defaults(args.source, args.target, values))


if __name__ == "__main__":
    main()
