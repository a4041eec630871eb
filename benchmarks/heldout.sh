#!/usr/bin/env bash
# The held-out evaluation of the default model's card (docs/model_card.md): the papers' NoC
# protocol (20 clicks, full curves) through `clickseg evaluate` on data training never saw.
#
#   bash benchmarks/heldout.sh MODEL OUT_DIR [SET...] [-- EVALUATE_OPTION...]
#
# MODEL: 'default', 'baseline' or a checkpoint; SET: any of isbi isbi_mito isbi_mito_1024 epfl brats em_cells
# em_mitochondria brain knee grabcut davis coco (default: isbi brats and the synthetic sets). Options after -- go to every `clickseg evaluate` call, e.g.
# `-- --no-flip` (the fast mode) or `-- --precision bfloat16`. Real data sets are read from
# ../shared/data beside the repository.
set -euo pipefail
model=${1:?usage: heldout.sh MODEL OUT_DIR [SET...]}
out=${2:?usage: heldout.sh MODEL OUT_DIR [SET...]}
shift 2
sets=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do sets+=("$1"); shift; done
[ $# -gt 0 ] && shift
extra=("$@")
[ ${#sets[@]} -gt 0 ] || sets=(isbi brats em_cells em_mitochondria brain knee)
data=${CLICKSEG_SHARED_DATA:-../shared/data}
clickseg=${CLICKSEG:-clickseg}
python=${PYTHON:-python}
mkdir -p "$out"

for set in "${sets[@]}"; do
  case $set in
    isbi)  # ISBI 2012 cells of slices 20-29, a seeded sample of 100 (as docs/results.md)
      args=(--data "isbi:$data/isbi2012_em" --data-option slices=20,21,22,23,24,25,26,27,28,29
            --limit 100 --seed 0) ;;
    isbi_mito)  # ISBI 2012 mitochondria of slices 20-29 (every one)
      args=(--data "sstem:$data/isbi2012_em_mito" --data-option images=../isbi2012_em/image
            --data-option slices=20,21,22,23,24,25,26,27,28,29 --data-option name=ISBI-mito) ;;
    isbi_mito_1024)  # the same tissue as full 1024 px ssTEM sections: 2 x 2 mosaics of
      # sections 20-23 and 24-27 (benchmarks/em_mosaic.py), each mitochondrion once
      mosaic="$out/_isbi_mito_1024_data"
      [ -d "$mosaic/raw" ] || "$python" "$(dirname "$0")/em_mosaic.py" \
        --data-root "$data" --out "$mosaic" --slices 20 21 22 23 24 25 26 27
      args=(--data "sstem:$mosaic" --data-option name=ISBI-mito-1024) ;;
    epfl)  # EPFL (Lucchi) test split, a seeded sample of 100 mitochondria
      args=(--data "epfl:$data/epfl_lucchi_mito/test" --limit 100 --seed 0) ;;
    grabcut)
      args=(--data "folder:$data/grabcut") ;;
    davis)  # a seeded sample of 50 of the 345 frames
      args=(--data "folder:$data/davis" --limit 50 --seed 0) ;;
    coco)  # a seeded sample of 50 of the 400 COCO_MVal objects here
      args=(--data "folder:$data/coco_mval" --limit 50 --seed 0) ;;
    brats)  # whole tumour on every tumour slice of the held-out case
      args=(--data "brats:$data/brats2018_brainy/Brats18_TCIA05_396_1"
            --data-option slices=all) ;;
    em_cells)
      args=(--data synthetic:em_cells --data-option seed=2000 --data-option slice_step=4
            --limit 50 --seed 0) ;;
    em_mitochondria)
      args=(--data synthetic:em_mitochondria --data-option seed=2000 --data-option volumes=2
            --data-option slice_step=4 --limit 50 --seed 0) ;;
    brain)
      args=(--data synthetic:brain --data-option seed=2000 --data-option volumes=4
            --data-option slice_step=8 --limit 50 --seed 0) ;;
    knee)
      args=(--data synthetic:knee --data-option seed=2000 --data-option volumes=3
            --data-option slice_step=6 --limit 50 --seed 0) ;;
    *) echo "unknown set $set" >&2; exit 2 ;;
  esac
  "$clickseg" evaluate --model "$model" --miou 1 3 5 10 20 --noc 85 90 "${args[@]}" "${extra[@]}" \
    --out "$out/$set" | tee "$out/$set.txt"
done
