#!/usr/bin/env bash
# Encoder study, with a predictor: export candidate X's wall world model (runs/enc_X encoder +
# runs/cand_pred_X predictor, trained as in models/README.md) and plan with it under the fixed
# protocol. Prints one JSON line: {"candidate": X, "result": <deno task eval's last line>}.
#
#   bash study/experiments/encoder_world_model.sh tdist >> study/results/encoder_world_model/encoder_world_model_wall.jsonl
set -euo pipefail
c=$1
.venv/bin/python -m train.export --encoder "runs/enc_$c/encoder.pt" --predictor "runs/cand_pred_$c/predictor.pt" \
  --out "runs/cand_model_$c" > /dev/null
result=$(deno task eval --task wall --model "runs/cand_model_$c" --episodes 20 --budget 20 --seed 0 \
  --backend node --threads 1 2> /dev/null | tail -n 1)
echo "{\"candidate\":\"$c\",\"result\":$result}"
