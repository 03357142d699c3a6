#!/usr/bin/env bash
# The English teacher (direct-transfer baseline): multilingual-e5-small fine-tuned on the first
# 4,000 sentences of CoNLL-2003 English (PER/ORG/LOC), then scored zero-shot on MasakhaNER 2.0
# and WikiANN (Rahimi splits). Model weights stay in $RUNS (outside the repository); the
# records, table and plot go to experiments/results/.
#
#   RUNS=/work/runs DATA=/work/shared/data bash experiments/teacher.sh
# EVAL_MAX=N scores only the first N sentences of each gold set (all of them by default).
set -euo pipefail
RUNS=${RUNS:-/work/runs}
DATA=${DATA:-../shared/data}
MODEL=$RUNS/teacher-en-me5s
OUT=$(dirname "$0")/results
LIMIT=""
[ -n "${EVAL_MAX:-}" ] && LIMIT="--max-sentences $EVAL_MAX"

if [ ! -f "$MODEL/silver_ner_training.json" ]; then
  RESUME=""
  [ -d "$MODEL/checkpoints" ] && RESUME="--resume"
  python -u -m silver_ner.cli train --conll "$DATA/conll2003_en/train.txt" --max-sentences 4000 \
    --output "$MODEL" --freeze-embeddings --epochs 1 --lr 5e-5 --batch-size 16 --seed 42 \
    --save-steps 50 --no-progress $RESUME
fi

python -u -m silver_ner.cli evaluate --model "$MODEL" --system teacher-en-me5s --data-root "$DATA" \
  --gold masakhaner2:hau:test --gold masakhaner2:ibo:test --gold masakhaner2:swa:test --gold masakhaner2:yor:test \
  --gold wikiann:swa:test --gold wikiann:yor:test --gold wikiann:ibo:test \
  --results "$OUT/teacher_eval_results.json" $LIMIT

cp "$MODEL/silver_ner_training.json" "$OUT/teacher_training.json"
python -u -m silver_ner.cli leaderboard "$OUT"/*_eval_results.json --output "$OUT/leaderboard"
