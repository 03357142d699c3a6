#!/usr/bin/env bash
# Long sentences in student training. The all-languages students (experiments/all_languages.sh) are
# trained on rows of at most 128 subwords, and the words of a longer silver sentence past that limit
# carry no training label (8.7 % of the Fon training words, 4-5 % for bam, wol and mos). This run
# trains the same students again, from the same teacher on the same silver builds with the same
# settings, but with --long-sentences window: a long sentence becomes overlapping windows of whole
# words (the tagger's windows), each word labelled once, in the window where it has the most context.
#
#   RUNS=../runs DATA=../shared/data bash experiments/long_sentences.sh       # fon bam wol mos
#   LANGS="fon" RUNS=../runs DATA=../shared/data bash experiments/long_sentences.sh
#
# Needs the teacher ($RUNS/teacher) and the language's builds ($RUNS/all/silver-pool-<lang>, and
# $RUNS/all/silver-tpmt-<lang> where T-Projection translations exist) of all_languages.sh. Students
# go to $RUNS/all/student-window-<lang>; records, times (timings.jsonl) and the comparison
# (summary.md, by long_sentences_summary.py against the records in BASE, default
# experiments/results/all_languages) to OUT (experiments/results/long_sentences). The comparison
# names a language "not comparable" when its two students differ in teacher or builds.
# Knobs: LANGS, THREADS (2), CLI, OUT, BASE. Each stage is skipped when its output exists.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=experiments/stages.sh
source "$HERE/stages.sh"  # ROOT, RUNS, DATA, CLI and the stage functions
OUT=${OUT:-$HERE/results/long_sentences}
BASE=${BASE:-$HERE/results/all_languages}
LANGS=${LANGS:-fon bam wol mos}
THREADS=${THREADS:-2}
export OMP_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS
STUDENT_EPOCHS=1
SYSTEM=student-ours-pool-p90-window
TEACHER=$RUNS/teacher
INIT=$TEACHER PREFIX=""
A=$RUNS/all
mkdir -p "$OUT"
TIMINGS=$OUT/timings.jsonl
if [ ! -f "$TEACHER/silver_ner_training.json" ]; then
  echo "$TEACHER: no teacher; run experiments/all_languages.sh first" >&2
  exit 2
fi
for l in $LANGS; do
  if [ ! -f "$A/silver-pool-$l/silver_ner_build.json" ]; then
    echo "$A/silver-pool-$l: no silver build of $l; run LANGS=$l experiments/all_languages.sh first" >&2
    exit 2
  fi
done
# shellcheck disable=SC2086
WIKI_LANGS=$(wikiann_langs $LANGS)
stamp "languages: $LANGS; runs in $RUNS, records in $OUT; $THREADS threads"
for lang in $LANGS; do
  stamp "== $lang"
  mapfile -t datasets < <(pool_student_data "$lang")
  student all/student-window "$SYSTEM" "$lang" "${datasets[@]}" --config "$lang" --mask-with "$TEACHER" \
    --mask-min-prob 0.9 --long-sentences window
done
python -u "$HERE/long_sentences_summary.py" --base "$BASE" --windowed "$OUT" --output "$OUT/summary.md"
stamp "done"
