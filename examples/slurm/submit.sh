#!/usr/bin/env bash
# Submits a sharded csmarket run and its merge:
#
#   SHARDS=16 REPS=1000000 examples/slurm/submit.sh [SCENARIO]
#
# Environment: SHARDS (array tasks), REPS (replications per configuration, whole run),
# optional SEED, CSMARKET (path to the binary), WORK (shared folder for shard outputs).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
: "${SHARDS:?set SHARDS}"
: "${REPS:?set REPS}"
export SCENARIO="${1:-${SCENARIO:-scenarios/england-2012.toml}}"
export SHARDS REPS
export WORK="${WORK:-results/run-$(date +%Y%m%d-%H%M%S)}"
mkdir -p logs "$WORK"

array=$(sbatch --parsable --array="0-$((SHARDS - 1))" --export=ALL "$here/shards.sbatch")
merge=$(sbatch --parsable --dependency="afterok:$array" --export=ALL "$here/merge.sbatch")
echo "shards: job $array (tasks 0-$((SHARDS - 1))), merge: job $merge"
echo "results will be in $WORK/merged"
