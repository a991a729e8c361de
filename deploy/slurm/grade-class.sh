#!/bin/bash
# Grade a class on a Slurm cluster: a job array with one shard of the class per task, then one merge job
# that runs only when every shard succeeded.
#
# How to use: put this script beside the class folder, set the variables below (or export them), then run
#     bash grade-class.sh
# on the login node (not `sbatch grade-class.sh`, which would grade the shards but never merge). It submits
#     sbatch --parsable --array=1-$SHARDS grade-class.sh         (task K runs `rnn-grader grade … --shard K/N`)
#     sbatch --kill-on-invalid-dep=yes --dependency=afterok:$ARRAY_JOB_ID --wrap "bash grade-class.sh merge"
# and prints both job ids. Each task writes $OUT/gradebook-K.sqlite; the merge writes $OUT/grades.csv,
# $OUT/results.json and $OUT/report/ and fails (listing them) if a student was graded by no shard or twice
# with different results. Should a task fail, Slurm cancels the merge job (read grade-class-ID_K.log, fix, and
# run this again). rnn-grader must be installed where the compute nodes find it (a venv on a shared
# file system: set GRADER=/path/to/venv/bin/rnn-grader).
#SBATCH --job-name=grade-class
#SBATCH --array=1-4
#SBATCH --cpus-per-task=4
#SBATCH --mem=8G
#SBATCH --time=01:00:00
#SBATCH --output=grade-class-%A_%a.log
set -euo pipefail

SHARDS=${SHARDS:-4}                       # how many array tasks (machines) share the class
CLASS=${CLASS:-submissions}               # the class folder, as `rnn-grader grade` takes it
EXERCISE=${EXERCISE:-rnn-bptt}
SECRET_FILE=${SECRET_FILE:-$HOME/.rnn-secret}
OUT=${OUT:-grading}                       # gradebooks and merged results
GRADER=${GRADER:-rnn-grader}
export SHARDS CLASS EXERCISE SECRET_FILE OUT GRADER  # the jobs submitted below see the same

secret_args=()
if [[ -f "$SECRET_FILE" ]]; then secret_args=(--secret-file "$SECRET_FILE"); fi

if [[ "${1:-}" == merge ]]; then
    shopt -s nullglob
    books=("$OUT"/gradebook-*.sqlite)
    "$GRADER" merge "${books[@]}" --class "$CLASS" --format csv -o "$OUT/grades.csv"
    "$GRADER" merge "${books[@]}" --class "$CLASS" --format json -o "$OUT/results.json"
    "$GRADER" merge "${books[@]}" --class "$CLASS" --format html -o "$OUT/report"
elif [[ -n "${SLURM_ARRAY_TASK_ID:-}" ]]; then
    shard="$SLURM_ARRAY_TASK_ID/${SLURM_ARRAY_TASK_COUNT:-$SHARDS}"
    "$GRADER" grade "$CLASS" --exercise "$EXERCISE" --jobs "${SLURM_CPUS_PER_TASK:-2}" "${secret_args[@]}" \
        --shard "$shard" --gradebook "$OUT/gradebook-$SLURM_ARRAY_TASK_ID.sqlite" --format csv \
        -o "$OUT/shard-$SLURM_ARRAY_TASK_ID.csv"
else
    mkdir -p "$OUT"
    script=$(realpath "$0")
    ARRAY_JOB_ID=$(sbatch --parsable --array="1-$SHARDS" "$script")
    ARRAY_JOB_ID=${ARRAY_JOB_ID%%;*}      # --parsable prints "id" or "id;cluster"
    # --kill-on-invalid-dep: should a shard fail, the merge job is cancelled rather than left pending forever
    MERGE_JOB_ID=$(sbatch --parsable --job-name=grade-class-merge --output=grade-class-merge-%j.log \
        --kill-on-invalid-dep=yes --dependency="afterok:$ARRAY_JOB_ID" --wrap "bash $(printf '%q' "$script") merge")
    echo "shards: job array $ARRAY_JOB_ID (1-$SHARDS); merge: job ${MERGE_JOB_ID%%;*} after all of them succeed" \
        "(cancelled if one fails)"
fi
