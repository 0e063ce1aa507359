# shellcheck shell=bash
# Shared by calibrate.sh and calibrate-merge.sbatch: how a generation is queued. Sourced, not run;
# expects the calibration's settings (see calibrate.sh) to be loaded.

# The saved state of the calibration: generation-NNN.json files and generation-NNN/ shard folders.
state_dir() { echo "$WORK/main/calibrate/state"; }

# Generation $1's shard file of shard $2 in the calibration's state.
shard_file() { printf '%s/generation-%03d/shard-%d-of-%d.json' "$(state_dir)" "$1" "$2" "$SHARDS"; }

# The shards of generation $1 with no file in the calibration's state, comma-separated.
missing_shards() {
    local k list=()
    for ((k = 0; k < SHARDS; k++)); do
        [[ -f "$(shard_file "$1" "$k")" ]] || list+=("$k")
    done
    local IFS=,
    echo "${list[*]}"
}

# Queues generation $1, attempt $2: array tasks $3 (an sbatch --array list) and the merge job that
# waits for all of them, however they end (afterany).
submit_generation() {
    local generation=$1 attempt=$2 tasks=$3 array merge
    local common=(
        --job-name="$NAME"
        --mem="$MEM"
        --time="$TIME"
        --export="ALL,WORK=$WORK,GENERATION=$generation,ATTEMPT=$attempt"
        --open-mode=append
    )
    [[ -n "$PARTITION" ]] && common+=(--partition="$PARTITION")
    # B:USR1@S: the batch shell of a task hears USR1 S seconds before the time limit, stops
    # csmarket (which saves the particles it finished) and requeues itself.
    array=$(sbatch --parsable "${common[@]}" --array="$tasks" --cpus-per-task="$CPUS" \
        --requeue --signal="B:USR1@$SIGNAL_SECS" --output="$WORK/logs/shard-%a.log" \
        "$HERE/calibrate-shard.sbatch")
    array=${array%%;*}
    # --requeue: if its node fails Slurm runs the merge job again, which starts over.
    merge=$(sbatch --parsable "${common[@]}" --cpus-per-task="$CPUS" --requeue \
        --dependency="afterany:$array" --output="$WORK/logs/merge.log" \
        "$HERE/calibrate-merge.sbatch")
    merge=${merge%%;*}
    echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) generation $generation attempt $attempt: shards job $array (tasks $tasks), merge job $merge" |
        tee -a "$WORK/history"
}
