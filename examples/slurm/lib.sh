# shellcheck shell=bash
# Shared by submit.sh and finish.sbatch: how one round of a submission is queued.
# Sourced, not run. Expects the settings of the submission (see submit.sh) to be loaded.

# The shard outputs of a submission, in shard order.
shard_dirs() {
    local k
    for ((k = 0; k < SHARDS; k++)); do
        echo "$WORK/shard-$k"
    done
}

# The shards (0 .. SHARDS-1) that have no completion marker, comma-separated.
missing_shards() {
    local k list=()
    for ((k = 0; k < SHARDS; k++)); do
        [[ -f "$WORK/done/shard-$k" ]] || list+=("$k")
    done
    local IFS=,
    echo "${list[*]}"
}

# Queues round $1: array tasks $2 (an sbatch --array list such as 0-15 or 2,5) and the finish job
# that waits for all of them, whatever their end (afterany), then checks, resubmits or merges.
submit_round() {
    local round=$1 tasks=$2 array finish
    local common=(
        --job-name="$NAME"
        --mem="$MEM"
        --time="$TIME"
        --export="ALL,WORK=$WORK,ROUND=$round"
        --open-mode=append
    )
    [[ -n "$PARTITION" ]] && common+=(--partition="$PARTITION")
    # B:USR1@S: the batch shell of a task hears USR1 S seconds before the time limit, saves and
    # requeues itself (#SBATCH --requeue alone does not requeue a task that times out).
    array=$(sbatch --parsable "${common[@]}" \
        --array="$tasks" \
        --cpus-per-task="$CPUS" \
        --requeue \
        --signal="B:USR1@$SIGNAL_SECS" \
        --output="$WORK/logs/shard-%a.log" \
        "$HERE/shard.sbatch")
    array=${array%%;*}
    # afterany, not afterok: afterok is never satisfied once a task has failed, even if it is
    # requeued and succeeds; the finish job itself decides what is missing. --requeue: if its node
    # fails Slurm runs it again (whatever the cluster's JobRequeue), and it picks up where it was.
    finish=$(sbatch --parsable "${common[@]}" \
        --cpus-per-task=1 \
        --requeue \
        --dependency="afterany:$array" \
        --output="$WORK/logs/finish.log" \
        "$HERE/finish.sbatch")
    finish=${finish%%;*}
    echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) round $round: shards job $array (tasks $tasks), finish job $finish" |
        tee -a "$WORK/history"
}
