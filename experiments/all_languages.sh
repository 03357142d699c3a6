#!/usr/bin/env bash
# The selected robustness recipe (student-ours-pool-p90) on all 18 MasakhaNER 2.0 languages of the
# data folder, one language at a time, against direct transfer.
#
#   direct-transfer        teacher: multilingual-e5-small fine-tuned on CoNLL-2003 English train
#                          (3 epochs, PER/ORG/LOC), applied zero-shot; the same model as robustness.sh
#                          ($RUNS/teacher), trained once
#   student-ours-pool-p90  one student per language, fine-tuned from the teacher for 1 epoch on every
#                          silver row of the language, masking silver O words the teacher tags as an
#                          entity with probability >= 0.9 (--mask-with TEACHER --mask-min-prob 0.9).
#                          Silver sources:
#                          - every MAFAND-MT line of the language (train, dev and test splits, those
#                            that exist), pairs whose target side occurs in MasakhaNER 2.0 dev or test
#                            left out (mafand_overlap.py --write-filtered); the source side (English,
#                            or French for bam bbj ewe fon mos wol: --source-lang fra) tagged by the
#                            teacher, the labels projected onto the target side;
#                          - our projection of CoNLL-2003 train onto T-Projection's machine translations,
#                            where they exist (hau ibo nya sna swa yor).
# Scored on MasakhaNER 2.0 test and dev, and on WikiANN test (Rahimi splits) where the data folder
# has it (ibo kin swa yor).
#
#   RUNS=../runs DATA=../shared/data bash experiments/all_languages.sh
#   LANGS="kin ewe" bash experiments/all_languages.sh       # some languages only
#
# Languages run in $LANGS order; the default puts those with the fewest silver rows first (MAFAND
# pool pairs after the leakage filter, plus the T-Projection translations), so that the first
# complete rows come early. Each stage is skipped when its output exists: per-language builds
# $RUNS/all/silver-tpmt-<lang> and $RUNS/all/silver-pool-<lang>, students $RUNS/all/student-<lang>,
# evaluation marks in the model folders. An interrupted run resumes where it stopped (training from
# its checkpoints). Every stage that ran appends its wall time to
# experiments/results/all_languages/timings.jsonl; records, training records, build manifests, the
# leaderboard and the summary (summary.md; per-language table against the published figures in
# experiments/published_masakhaner2.csv) go to experiments/results/all_languages/ (OUT).
#
# Knobs: LANGS, STUDENT_EPOCHS (1), TEACHER_EPOCHS (3), PRECISION of the aligner (bfloat16),
# THREADS (2: torch/OpenMP threads of the single job), CLI (the silver-ner command; a stub that
# echoes makes a dry run), OUT, BUILD_ONLY (1: the silver builds of the languages and nothing else:
# no evaluation, no student; its records go to OUT/build-only/; e.g. to release every language's data
# where not every student is trained).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=experiments/stages.sh
source "$HERE/stages.sh"  # ROOT, RUNS, DATA (exported as SILVER_NER_DATA), CLI and the stage functions
OUT=${OUT:-$HERE/results/all_languages}
# Fewest silver sentence pairs first (MAFAND-MT pool after the leakage filter + T-Projection translations):
# kin 1,466, bbj 3,385, tsn 3,472, ewe 3,507, mos 4,070, twi 4,259, bam 4,371, wol 4,552, lug 4,960, luo 5,116,
# fon 5,438, pcm 5,515, nya 1,487 + 14,027, sna 1,561 + 14,006, hau 5,898 + 13,881, yor 9,746 + 13,986,
# ibo 9,997 + 14,011, swa 34,408 + 14,020.
ALL_LANGS="kin bbj tsn ewe mos twi bam wol lug luo fon pcm nya sna hau yor ibo swa"
LANGS=${LANGS:-$ALL_LANGS}
STUDENT_EPOCHS=${STUDENT_EPOCHS:-1}
TEACHER_EPOCHS=${TEACHER_EPOCHS:-3}
PRECISION=${PRECISION:-bfloat16}
THREADS=${THREADS:-2}
BUILD_ONLY=${BUILD_ONLY:-0}
export OMP_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS  # torch takes its intra-op thread count from OMP_NUM_THREADS
SYSTEM=student-ours-pool-p90
TEACHER=$RUNS/teacher
INIT=$TEACHER PREFIX=""
A=$RUNS/all
mkdir -p "$OUT" "$A"
TIMINGS=$OUT/timings.jsonl
# Builds made only for a release keep their records apart (build manifests, leakage reports, times in
# $OUT/build-only/): the records beside the students describe the builds the students were trained on.
if [ "$BUILD_ONLY" = 1 ]; then
  OUT=$OUT/build-only
  TIMINGS=$OUT/timings.jsonl
  mkdir -p "$OUT"
fi

source_side() {  # source_side LANG: en or fr, the side MAFAND-MT pairs LANG with
  if [ -d "$DATA/mafand/en-$1" ]; then echo en
  elif [ -d "$DATA/mafand/fr-$1" ]; then echo fr
  else return 1
  fi
}

for l in $LANGS; do
  if [ ! -f "$DATA/masakhaner2/$l/test.txt" ] || ! source_side "$l" > /dev/null; then
    echo "$l: no MasakhaNER 2.0 test set or no MAFAND-MT pairs in $DATA" >&2
    exit 2
  fi
done
# shellcheck disable=SC2086
WIKI_LANGS=$(wikiann_langs $LANGS)
# shellcheck disable=SC2086
ALL_WIKI=$(wikiann_langs $ALL_LANGS)
stamp "languages: $LANGS (WikiANN:${WIKI_LANGS:+ $WIKI_LANGS}); runs in $RUNS, records in $OUT; $THREADS threads"

summarise() {  # the summary table so far (languages not yet run are marked missing)
  python -u "$HERE/robustness_summary.py" "$OUT" --published "$HERE/published_masakhaner2.csv" \
    --student "$SYSTEM" --languages "$ALL_LANGS" --wikiann-languages "$ALL_WIKI" --output "$OUT/summary.md" > /dev/null
}

# Teacher = direct transfer (shared with robustness.sh).
train "$TEACHER" --conll "$DATA/conll2003_en/train.txt" --labels PER,ORG,LOC --epochs "$TEACHER_EPOCHS" --role teacher
cp "$TEACHER/silver_ner_training.json" "$OUT/training-direct-transfer.json"

ALL=$LANGS
for lang in $ALL; do
  stamp "== $lang"
  if [ "$BUILD_ONLY" != 1 ]; then
    evaluate "$TEACHER" direct-transfer "$lang"
    evaluate_dev "$TEACHER" direct-transfer "$lang"
  fi
  side=$(source_side "$lang")
  if [ -f "$DATA/tprojection_mt/$lang.train.txt" ]; then
    LANGS=$lang build_tpmt "$A/silver-tpmt-$lang" "tpmt-$lang"
  fi
  source_lang=()
  if [ "$side" = fr ]; then source_lang=(--source-lang fra); fi
  LANGS=$lang SOURCE_SIDE=$side build_pool "$A/silver-pool-$lang" "mafand-pool-$lang" "$A/mafand-pool" \
    "$OUT/mafand_pool_overlap-$lang.json" "${source_lang[@]}"
  if [ "$BUILD_ONLY" = 1 ]; then continue; fi
  mapfile -t datasets < <(pool_student_data "$lang")
  student all/student "$SYSTEM" "$lang" "${datasets[@]}" --config "$lang" --mask-with "$TEACHER" --mask-min-prob 0.9
  summarise || stamp "summary failed (see above); the run goes on, the summary is made again at the end"
done

if [ "$BUILD_ONLY" = 1 ]; then stamp "done (silver builds only)"; exit 0; fi

# Table, plot and summary.
$CLI leaderboard "$OUT"/direct-transfer.json "$OUT/$SYSTEM.json" --output "$OUT/leaderboard" \
  --title "All MasakhaNER 2.0 languages: direct transfer vs the pool student, entity-level F1 (strict IOB2)"
summarise
stamp "done"
