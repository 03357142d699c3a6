#!/usr/bin/env bash
# Robustness under domain shift: direct transfer (the English teacher applied zero-shot) against
# students trained on silver data, for Hausa, Igbo, Swahili and Yoruba; scored in-domain on
# MasakhaNER 2.0 test (news) and out-of-domain on WikiANN test (Rahimi splits; swa, yor, ibo).
#
# Systems (one leaderboard row each; students are one model per language):
#   direct-transfer          teacher: multilingual-e5-small fine-tuned on CoNLL-2003 English train
#   student-ours-tpmt        our projection of CoNLL-2003 labels onto the machine translations
#                            shipped with T-Projection (re-paired with the English sentences)
#   student-ours-mafand      MAFAND-MT human parallel news, English side tagged by the teacher,
#                            labels projected onto the target side
#   student-tprojection      the same translations with T-Projection's own labels (peer row)
#   student-ours-tpmt-masked as student-ours-tpmt, but silver O words that the teacher tags as
#                            entities on the target side carry no training label
#   student-ours-both-masked our two silver sources together (half of the sentence budget each), masked
#   student-ours-mafand-masked  as student-ours-mafand, masked
#   student-ours-all-masked  every sentence of both of our sources, masked
#   student-ours-all-masked-p90  as student-ours-all-masked, masking only where the teacher's entity
#                            probability is at least 0.9
#   student-ours-all-masked-p90-keep-o  as student-ours-all-masked-p90, but word forms that the silver
#                            data labels O in at least 80 % of their 5 or more occurrences are never masked
#                            (--mask-keep-o 0.8): projection's consistent O outvotes the teacher
#   student-ours-self-trained  a second round: student-ours-all-masked-p90 trained one more epoch on the
#                            same rows, masking where that first-round student (not the teacher) gives an
#                            entity probability of at least 0.9
#   student-ours-soup        the weight average of student-ours-all-masked, -all-masked-p90 and
#                            -self-trained (silver-ner average; no further training)
#   student-ours-pool-p90    as student-ours-all-masked-p90, with every MAFAND-MT line of the language
#                            (train, dev and test splits, pairs whose target side occurs in MasakhaNER 2.0
#                            dev or test left out: experiments/mafand_overlap.py) as the MAFAND source
#   student-ours-conventions as student-ours-all-masked-p90, on both sources rebuilt with the span-opening
#                            words of conventions/masakhaner2-train.tsv (read off MasakhaNER 2.0 *train*
#                            labels: target-language annotation, so not zero-shot; reported apart)
#
# Every model is also scored on MasakhaNER 2.0 dev (records in results/robustness/dev/); the summary
# names the student with the best mean dev F1, so that choosing among the variants never looks at test.
#
# Every stage is skipped when its output exists, so an interrupted run resumes where it stopped.
# Model weights and silver builds stay in $RUNS (outside the repository); evaluation records, the
# training records, the leaderboard and the summary go to experiments/results/robustness/.
#
#   RUNS=../runs DATA=../shared/data bash experiments/robustness.sh
#
# The stages (train, evaluate, the silver builds, student) are the functions of experiments/stages.sh,
# shared with experiments/all_languages.sh. RUNS defaults to ../runs and DATA to ../shared/data beside
# the repository; CLI replaces the silver-ner command (e.g. with a stub that echoes, for a dry run).
#
# Knobs: STUDENT_SENTENCES (6000), STUDENT_EPOCHS (1), STUDENT_INIT (teacher: students start from
# the teacher's weights; encoder: from the plain encoder), TEACHER_EPOCHS (3), MAFAND_LINES (6000),
# PRECISION of the aligner (bfloat16).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=experiments/stages.sh
source "$HERE/stages.sh"  # ROOT, RUNS, DATA (exported as SILVER_NER_DATA), CLI and the stage functions
OUT=$HERE/results/robustness
LANGS=${LANGS:-"hau ibo swa yor"}
WIKI_LANGS="ibo swa yor"
STUDENT_SENTENCES=${STUDENT_SENTENCES:-6000}
STUDENT_EPOCHS=${STUDENT_EPOCHS:-1}
STUDENT_INIT=${STUDENT_INIT:-teacher}
TEACHER_EPOCHS=${TEACHER_EPOCHS:-3}
MAFAND_LINES=${MAFAND_LINES:-6000}
PRECISION=${PRECISION:-bfloat16}
mkdir -p "$RUNS" "$OUT"
TEACHER=$RUNS/teacher

# 1. Teacher = direct transfer.
train "$TEACHER" --conll "$DATA/conll2003_en/train.txt" --labels PER,ORG,LOC --epochs "$TEACHER_EPOCHS" --role teacher
cp "$TEACHER/silver_ner_training.json" "$OUT/training-direct-transfer.json"
# shellcheck disable=SC2086
evaluate "$TEACHER" direct-transfer $LANGS
# shellcheck disable=SC2086
evaluate_dev "$TEACHER" direct-transfer $LANGS

# 2. Silver data from the T-Projection translations (our projection of the CoNLL-2003 labels).
TPMT=$RUNS/silver-tpmt
build_tpmt "$TPMT" tpmt

# 3. Silver data from MAFAND-MT (English side tagged by the teacher).
MAF=$RUNS/silver-mafand
build_mafand "$MAF" mafand

# 4. Students, one per language and system, fine-tuned from the teacher ($STUDENT_INIT=teacher) or
#    from the plain encoder (STUDENT_INIT=encoder), on the first $STUDENT_SENTENCES training rows.
#    Ordered by system, so that complete rows arrive first.
INIT=$TEACHER PREFIX=""
if [ "$STUDENT_INIT" = encoder ]; then INIT=default PREFIX=scratch-; fi
for l in $LANGS; do
  student student-tpmt student-ours-tpmt "$l" --dataset "$TPMT" --config "$l" --max-sentences "$STUDENT_SENTENCES"
done
for l in $LANGS; do
  student student-mafand student-ours-mafand "$l" --dataset "$MAF" --config "$l" --max-sentences "$STUDENT_SENTENCES"
done
for l in $LANGS; do
  student student-tproj student-tprojection "$l" --conll "$DATA/tprojection_mt/$l.train.txt" --max-sentences "$STUDENT_SENTENCES"
done
# Silver O words that the teacher tags as entities on the target side are left out of the loss
# (--mask-with): both of our sources (half of the sentence budget from each), then each alone.
for l in $LANGS; do
  student student-both-masked student-ours-both-masked "$l" --dataset "$TPMT" --dataset "$MAF" --config "$l" \
    --max-sentences $((STUDENT_SENTENCES / 2)) --mask-with "$TEACHER"
done
for l in $LANGS; do
  student student-mafand-masked student-ours-mafand-masked "$l" --dataset "$MAF" --config "$l" \
    --max-sentences "$STUDENT_SENTENCES" --mask-with "$TEACHER"
done
for l in $LANGS; do
  student student-tpmt-masked student-ours-tpmt-masked "$l" --dataset "$TPMT" --config "$l" \
    --max-sentences "$STUDENT_SENTENCES" --mask-with "$TEACHER"
done

# Both sources in full (every silver sentence of each, one epoch), masked.
for l in $LANGS; do
  student student-all-masked student-ours-all-masked "$l" --dataset "$TPMT" --dataset "$MAF" --config "$l" \
    --mask-with "$TEACHER"
done

# The same, masking only words the teacher gives an entity probability of at least 0.9.
for l in $LANGS; do
  student student-all-masked-p90 student-ours-all-masked-p90 "$l" --dataset "$TPMT" --dataset "$MAF" --config "$l" \
    --mask-with "$TEACHER" --mask-min-prob 0.9
done

# The same, but word forms the silver data labels O in at least 80 % of their (5 or more) occurrences
# keep their O even where the teacher tags them (titles such as Igbo "Maazị", capitalised common nouns).
for l in $LANGS; do
  student student-all-masked-p90-keep-o student-ours-all-masked-p90-keep-o "$l" --dataset "$TPMT" --dataset "$MAF" \
    --config "$l" --mask-with "$TEACHER" --mask-min-prob 0.9 --mask-keep-o 0.8
done

# Self-training, second round: the first-round student above starts again and masks the silver O
# words it tags as entities itself (it knows the target language better than the teacher).
# (These and the stages below follow the teacher-initialised students only.)
if [ -z "$PREFIX" ]; then
  for l in $LANGS; do
    FROM=$RUNS/student-all-masked-p90-$l student student-self-trained student-ours-self-trained "$l" \
      --dataset "$TPMT" --dataset "$MAF" --config "$l" --mask-with "$RUNS/student-all-masked-p90-$l" --mask-min-prob 0.9
  done

  # The weight average ("soup") of the three all-row students of each language.
  for l in $LANGS; do
    soup=$RUNS/student-soup-$l
    if [ ! -f "$soup/silver_ner_training.json" ]; then
      stamp "average into $soup"
      $CLI average "$RUNS/student-all-masked-$l" "$RUNS/student-all-masked-p90-$l" "$RUNS/student-self-trained-$l" \
        --output "$soup"
    fi
    evaluate "$soup" student-ours-soup "$l"
    evaluate_dev "$soup" student-ours-soup "$l"
    cp "$soup/silver_ner_training.json" "$OUT/training-student-ours-soup-$l.json"
  done

  # Every MAFAND-MT line of the language (all three splits) instead of the first $MAFAND_LINES training
  # lines, without the pairs whose target side is a MasakhaNER 2.0 dev or test sentence.
  POOL=$RUNS/silver-mafand-pool
  build_pool "$POOL" mafand-pool "$RUNS/mafand-pool" "$OUT/mafand_pool_overlap.json"
  for l in $LANGS; do
    student student-pool-p90 student-ours-pool-p90 "$l" --dataset "$TPMT" --dataset "$POOL" --config "$l" \
      --mask-with "$TEACHER" --mask-min-prob 0.9
  done

  # Span conventions read off MasakhaNER 2.0 train (target-language annotation; never selected): both
  # sources rebuilt with --span-conventions, then the student-ours-all-masked-p90 recipe. A language
  # whose rows come out identical to the plain build (no declared word) keeps that student's model.
  CONV=$HERE/conventions/masakhaner2-train.tsv
  TPMT_CONV=$RUNS/silver-tpmt-conventions MAF_CONV=$RUNS/silver-mafand-conventions
  build_tpmt "$TPMT_CONV" tpmt-conventions --span-conventions "$CONV"
  build_mafand "$MAF_CONV" mafand-conventions --span-conventions "$CONV"
  same_rows() {  # same_rows PLAIN CONVENTIONS LANG: true when both builds hold the same rows for LANG
    python - "$@" <<'PY'
import sys, datasets
a, b = (datasets.load_from_disk(f"{d}/{sys.argv[3]}") for d in sys.argv[1:3])
cols = ["id", "tokens", "ner_tags"]
same = a.keys() == b.keys() and all(a[s].select_columns(cols).to_list() == b[s].select_columns(cols).to_list() for s in a)
sys.exit(0 if same else 1)
PY
  }
  for l in $LANGS; do
    if same_rows "$TPMT" "$TPMT_CONV" "$l" && same_rows "$MAF" "$MAF_CONV" "$l"; then
      stamp "$l: no declared convention changes a row; student-ours-conventions = student-ours-all-masked-p90"
      evaluate "$RUNS/student-all-masked-p90-$l" student-ours-conventions "$l"
      evaluate_dev "$RUNS/student-all-masked-p90-$l" student-ours-conventions "$l"
      cp "$RUNS/student-all-masked-p90-$l/silver_ner_training.json" "$OUT/training-student-ours-conventions-$l.json"
    else
      student student-conventions student-ours-conventions "$l" --dataset "$TPMT_CONV" --dataset "$MAF_CONV" \
        --config "$l" --mask-with "$TEACHER" --mask-min-prob 0.9
    fi
  done
fi

# 5. Table, plot and summary.
$CLI leaderboard "$OUT" --output "$OUT/leaderboard" --label "masakhaner2=MasakhaNER 2.0 (in-domain)" \
  --label "wikiann=WikiANN (out-of-domain)" --title "Direct transfer vs students, entity-level F1 (strict IOB2)"
python -u "$HERE/robustness_summary.py" "$OUT" --output "$OUT/summary.md"
stamp "done"
