#!/usr/bin/env bash
# Seed variation of the dev-selected robustness student (student-ours-all-masked-p90): the same
# data and settings as experiments/robustness.sh, another seed; test and dev records go to
# experiments/results/robustness/seeds/<system>-seed<SEED>.json. Needs the teacher and the two
# silver builds that robustness.sh leaves in $RUNS.
#
#   RUNS=../runs DATA=../shared/data SEED=43 LANGS="hau swa" bash experiments/seed_variation.sh
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=experiments/stages.sh
source "$HERE/stages.sh"  # RUNS, DATA (exported as SILVER_NER_DATA) and CLI
SEED=${SEED:-43}
LANGS=${LANGS:-"hau ibo swa yor"}
OUT=$HERE/results/robustness/seeds
mkdir -p "$OUT"
for l in $LANGS; do
  model=$RUNS/student-all-masked-p90-seed$SEED-$l
  if [ ! -f "$model/silver_ner_training.json" ]; then
    resume=""
    [ -d "$model/checkpoints" ] && resume="--resume"
    $CLI train --dataset "$RUNS/silver-tpmt" --dataset "$RUNS/silver-mafand" --config "$l" \
      --mask-with "$RUNS/teacher" --mask-min-prob 0.9 --model "$RUNS/teacher" --epochs 1 --labels PER,ORG,LOC \
      --role student --output "$model" --freeze-embeddings --lr 5e-5 --batch-size 16 --seed "$SEED" \
      --save-steps 200 --no-progress $resume
  fi
  cp "$model/silver_ner_training.json" "$OUT/training-student-ours-all-masked-p90-seed$SEED-$l.json"
  $CLI evaluate --model "$model" --system "student-ours-all-masked-p90-seed$SEED" \
    --gold "masakhaner2:$l:test" --gold "masakhaner2:$l:dev" --results "$OUT/student-ours-all-masked-p90-seed$SEED.json"
done
