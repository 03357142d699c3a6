# Stage functions shared by experiments/robustness.sh and experiments/all_languages.sh (sourced,
# not run). Every stage is skipped when its output exists, so an interrupted run resumes where it
# stopped; training resumes from its checkpoints.
#
# Sourcing sets (each from the environment when given):
#   ROOT  the repository;  RUNS  model weights and silver builds (default ../runs beside the
#   repository);  DATA  the data folder (default ../shared/data beside the repository), exported
#   as SILVER_NER_DATA;  CLI  the silver-ner command (default: python -u -m silver_ner.cli; a stub
#   that echoes its arguments makes a dry run).
# The caller sets OUT (results folder), LANGS, WIKI_LANGS (languages with WikiANN test), TEACHER,
# PRECISION, STUDENT_EPOCHS, INIT and PREFIX (see student) before calling the stages.
# With TIMINGS set to a file, every stage that does work appends one JSON line to it:
#   {"stage": ..., "lang": ..., "what": ..., "seconds": ..., "started": ..., "ended": ...}
# (UTC times; a skipped stage writes nothing; a resumed training counts the resumed part only).

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUNS=${RUNS:-$ROOT/../runs}
mkdir -p "$RUNS"
RUNS=$(cd "$RUNS" && pwd)
DATA=${DATA:-$ROOT/../shared/data}
[ -d "$DATA" ] || { echo "data folder $DATA not found: set DATA" >&2; exit 2; }
DATA=$(cd "$DATA" && pwd)
export SILVER_NER_DATA=$DATA
CLI=${CLI:-python -u -m silver_ner.cli}

stamp() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }

clock() { date -u +%s.%N; }

timing() {  # timing STAGE LANG WHAT T0 [EXTRA-JSON]: one line into $TIMINGS (when set) for work begun at T0 (clock)
  [ -n "${TIMINGS:-}" ] || return 0
  local t1
  t1=$(clock)
  printf '{"stage": "%s", "lang": "%s", "what": "%s", "seconds": %s, "started": "%s", "ended": "%s"%s}\n' \
    "$1" "$2" "$3" "$(awk -v a="$4" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')" \
    "$(date -u -d "@$4" +%Y-%m-%dT%H:%M:%SZ)" "$(date -u -d "@$t1" +%Y-%m-%dT%H:%M:%SZ)" "${5:+, $5}" >> "$TIMINGS"
}

lang_args() {  # --lang options for every language of $LANGS
  local l
  for l in $LANGS; do echo "--lang $l"; done
}

train() {  # train OUTPUT ARGS...: train unless OUTPUT already holds a model; resume from checkpoints
  local out=$1; shift
  if [ -f "$out/silver_ner_training.json" ]; then stamp "have $out"; return; fi
  local resume=""
  [ -d "$out/checkpoints" ] && resume="--resume"
  stamp "train $out"
  local t0
  t0=$(clock)
  $CLI train "$@" --output "$out" --freeze-embeddings --lr 5e-5 --batch-size 16 --seed 42 \
    --save-steps 200 --no-progress $resume
  timing train "${STAGE_LANG:-all}" "$(basename "$out")" "$t0" "\"resumed\": $([ -n "$resume" ] && echo true || echo false)"
}

wikiann_langs() {  # wikiann_langs LANG...: those of LANG with a WikiANN test set in $DATA, space-separated
  local l
  for l in "$@"; do
    if [ -f "$DATA/wikiann_rahimi/$l/test.txt" ]; then echo "$l"; fi
  done | xargs
}

pool_student_data() {  # pool_student_data LANG: the --dataset options of LANG's pool student, one word a line
  # (T-Projection build where its translations exist, then the MAFAND-MT pool; both under $RUNS/all)
  if [ -f "$DATA/tprojection_mt/$1.train.txt" ]; then printf '%s\n' --dataset "$RUNS/all/silver-tpmt-$1"; fi
  printf '%s\n' --dataset "$RUNS/all/silver-pool-$1"
}

gold_specs() {  # gold_specs LANG: MasakhaNER test, plus WikiANN test where it exists
  echo "--gold masakhaner2:$1:test"
  case " $WIKI_LANGS " in *" $1 "*) echo "--gold wikiann:$1:test" ;; esac
}

evaluate() {  # evaluate MODEL SYSTEM LANG...: records into $OUT/<system>.json (once per model and language)
  local model=$1 system=$2; shift 2
  local lang t0
  for lang in "$@"; do
    local done_flag=$model/.scored-$system-$lang
    if [ -f "$done_flag" ]; then continue; fi
    stamp "evaluate $system on $lang"
    t0=$(clock)
    # shellcheck disable=SC2046
    $CLI evaluate --model "$model" --system "$system" $(gold_specs "$lang") --results "$OUT/$system.json"
    touch "$done_flag"
    timing evaluate-test "$lang" "$system" "$t0"
  done
}

evaluate_dev() {  # evaluate_dev MODEL SYSTEM LANG...: MasakhaNER dev records into $OUT/dev/<system>.json
  local model=$1 system=$2; shift 2
  local lang t0
  mkdir -p "$OUT/dev"
  for lang in "$@"; do
    local done_flag=$model/.dev-scored-$system-$lang
    if [ -f "$done_flag" ]; then continue; fi
    stamp "evaluate $system on $lang dev"
    t0=$(clock)
    $CLI evaluate --model "$model" --system "$system" --gold "masakhaner2:$lang:dev" --results "$OUT/dev/$system.json"
    touch "$done_flag"
    timing evaluate-dev "$lang" "$system" "$t0"
  done
}

# Silver builds, one config per language of $LANGS; the manifest is copied to $OUT/build-NAME.json.

build_tpmt() {  # build_tpmt OUTPUT NAME [BUILD-ARGS...]: our projection of CoNLL-2003 train onto T-Projection's translations
  local out=$1 name=$2; shift 2
  if [ ! -f "$out/silver_ner_build.json" ]; then
    stamp "build $out"
    local t0
    t0=$(clock)
    # shellcheck disable=SC2046
    $CLI build $(lang_args) --source-gold conll2003:train \
      --translated-conll "$DATA/tprojection_mt/{lang}.train.txt" --labels conll --precision "$PRECISION" \
      --output "$out" --quiet "$@"
    timing build "$(echo $LANGS | tr ' ' ,)" "$name" "$t0"
  fi
  cp "$out/silver_ner_build.json" "$OUT/build-$name.json"
}

build_parallel() {  # build_parallel OUTPUT DIR STEM [BUILD-ARGS...]: DIR/<side>-<lang>/STEM.<side> and STEM.<lang>,
  local out=$1 dir=$2 stem=$3; shift 3  # the <side> ($SOURCE_SIDE: en, the default, or fr) tagged by the teacher
  local side=${SOURCE_SIDE:-en} t0
  stamp "build $out"
  t0=$(clock)
  # shellcheck disable=SC2046
  $CLI build $(lang_args) \
    --parallel "$dir/$side-{lang}/$stem.$side" "$dir/$side-{lang}/$stem.{lang}" --tagger "$TEACHER" \
    --labels conll --precision "$PRECISION" --output "$out" --quiet "$@"
  timing build "$(echo $LANGS | tr ' ' ,)" "$(basename "$out")" "$t0"
}

build_mafand() {  # build_mafand OUTPUT NAME [BUILD-ARGS...]: as build_tpmt, from the first $MAFAND_LINES English-side lines
  local out=$1 name=$2; shift 2
  if [ ! -f "$out/silver_ner_build.json" ]; then
    for l in $LANGS; do
      mkdir -p "$RUNS/mafand/en-$l"
      head -n "$MAFAND_LINES" "$DATA/mafand/en-$l/train.en" > "$RUNS/mafand/en-$l/train.en"
      head -n "$MAFAND_LINES" "$DATA/mafand/en-$l/train.$l" > "$RUNS/mafand/en-$l/train.$l"
    done
    build_parallel "$out" "$RUNS/mafand" train "$@"
  fi
  cp "$out/silver_ner_build.json" "$OUT/build-$name.json"
}

build_pool() {  # build_pool OUTPUT NAME POOL-DIR REPORT [BUILD-ARGS...]: every MAFAND-MT line of the three splits,
  local out=$1 name=$2 pool=$3 report=$4; shift 4  # pairs whose target side occurs in MasakhaNER 2.0 dev or test left out
  if [ ! -f "$out/silver_ner_build.json" ]; then
    local t0
    t0=$(clock)
    # shellcheck disable=SC2046
    python -u "$ROOT/experiments/mafand_overlap.py" --data "$DATA" --langs "$(echo $LANGS | tr ' ' ,)" --lines 0 \
      --splits train,dev,test --output "$report" --write-filtered "$pool"
    timing filter "$(echo $LANGS | tr ' ' ,)" "$(basename "$report")" "$t0"
    build_parallel "$out" "$pool" pool "$@"
  fi
  cp "$out/silver_ner_build.json" "$OUT/build-$name.json"
}

# Students: one per language and system, fine-tuned from $FROM when set, else from $INIT (the
# teacher, or the plain encoder); PREFIX (e.g. scratch-) marks the encoder-initialised ones, which
# are not scored on dev.
student() {  # student NAME SYSTEM LANG DATA-ARGS...: model in $RUNS/NAME-LANG, records in $OUT
  local name=$PREFIX$1 system=$PREFIX$2 lang=$3 init=${FROM:-$INIT}; shift 3
  local STAGE_LANG=$lang
  train "$RUNS/$name-$lang" "$@" --model "$init" --epochs "$STUDENT_EPOCHS" --labels PER,ORG,LOC --role student
  evaluate "$RUNS/$name-$lang" "$system" "$lang"
  [ -n "$PREFIX" ] || evaluate_dev "$RUNS/$name-$lang" "$system" "$lang"
  cp "$RUNS/$name-$lang/silver_ner_training.json" "$OUT/training-$system-$lang.json"
}
