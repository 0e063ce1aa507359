# shellcheck shell=bash
# Shared by submit.sh, calibrate.sh and finish.sbatch: the options of a submission (read and
# checked the same way by both submitting scripts), and how one round of a submission is queued.
# Sourced, not run. The round functions expect the settings of the submission (see submit.sh) to
# be loaded.

die() {
    echo "${0##*/}: $*" >&2
    exit 2
}

positive() { [[ "$2" =~ ^[1-9][0-9]*$ ]] || die "$1 must be a whole number above 0, not '$2'"; }

# Seconds in an sbatch time limit: MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS.
limit_seconds() {
    local t=$1 days=0 h=0 m=0 s=0
    if [[ "$t" =~ ^([0-9]+)-(.*)$ ]]; then
        days=${BASH_REMATCH[1]}
        t=${BASH_REMATCH[2]}
        IFS=: read -r h m s <<<"$t"
    else
        local parts
        IFS=: read -ra parts <<<"$t"
        case ${#parts[@]} in
        1) m=${parts[0]} ;;
        2) m=${parts[0]} s=${parts[1]} ;;
        3) h=${parts[0]} m=${parts[1]} s=${parts[2]} ;;
        *) return 1 ;;
        esac
    fi
    for v in "$days" "${h:-0}" "${m:-0}" "${s:-0}"; do
        [[ "$v" =~ ^[0-9]+$ ]] || return 1
    done
    echo $(((10#$days * 24 + 10#${h:-0}) * 3600 + 10#${m:-0} * 60 + 10#${s:-0}))
}

# Reads the options at the front of "$@" that the calling script takes (the words of TAKES, such
# as "--shards --cpus --mem"), each into its setting (--shards into SHARDS, --signal-secs into
# SIGNAL_SECS, ...); --help calls the script's usage. Stops at the first word that is not one of
# them and leaves it and the rest in REST.
# shellcheck disable=SC2034 # OUT and RESUBMIT are read by submit.sh
read_options() {
    REST=()
    while (($#)); do
        case $1 in
        -h | --help)
            usage
            exit 0
            ;;
        esac
        [[ " $TAKES " == *" $1 "* ]] || break
        (($# >= 2)) || die "$1 needs a value"
        case $1 in
        --shards) SHARDS=$2 ;;
        --cpus) CPUS=$2 ;;
        --mem) MEM=$2 ;;
        --time) TIME=$2 ;;
        --partition) PARTITION=$2 ;;
        --work) WORK=$2 ;;
        --out) OUT=$2 ;;
        --csmarket) CSMARKET=$2 ;;
        --retries) RETRIES=$2 ;;
        --requeues) REQUEUES=$2 ;;
        --signal-secs) SIGNAL_SECS=$2 ;;
        --save-secs) SAVE_SECS=$2 ;;
        --resubmit) RESUBMIT=$2 ;;
        esac
        shift 2
    done
    REST=("$@")
}

# The settings' defaults, then their checks against each other and the cluster: sbatch and the
# csmarket binary found (CSMARKET made absolute), and CPUs per task that some node of the
# partition has (CPUS defaults to 4, or fewer if no node has 4). A task asking for more than any
# node has would stay pending for ever without a word (or be refused by sbatch): say so now.
check_options() {
    SHARDS=${SHARDS:-4}
    MEM=${MEM:-2G}
    TIME=${TIME:-01:00:00}
    PARTITION=${PARTITION:-}
    RETRIES=${RETRIES:-3}
    REQUEUES=${REQUEUES:-20}
    SIGNAL_SECS=${SIGNAL_SECS:-120}
    SAVE_SECS=${SAVE_SECS:-60}
    CSMARKET=${CSMARKET:-csmarket}

    positive --shards "$SHARDS"
    positive --signal-secs "$SIGNAL_SECS"
    positive --save-secs "$SAVE_SECS"
    [[ "$RETRIES" =~ ^[0-9]+$ ]] || die "--retries must be a whole number, not '$RETRIES'"
    [[ "$REQUEUES" =~ ^[0-9]+$ ]] || die "--requeues must be a whole number, not '$REQUEUES'"
    local limit
    limit=$(limit_seconds "$TIME") || die "--time '$TIME' is not a Slurm time limit (MM, HH:MM:SS, D-HH:MM ...)"
    ((SIGNAL_SECS < limit)) ||
        die "--signal-secs $SIGNAL_SECS is not below --time $TIME ($limit s): a task would be warned before it starts"

    command -v sbatch >/dev/null || die "sbatch is not on PATH: run this on a Slurm login node"
    local found
    found=$(command -v "$CSMARKET") || die "csmarket binary '$CSMARKET' not found (set --csmarket or CSMARKET)"
    CSMARKET=$(realpath "$found")

    local part_flag=() node_cpus
    [[ -n "$PARTITION" ]] && part_flag=(--partition="$PARTITION")
    node_cpus=$(sinfo -h "${part_flag[@]}" -o %c | tr -d '+' | sort -n | tail -n 1)
    [[ "$node_cpus" =~ ^[0-9]+$ ]] || die "sinfo found no nodes${PARTITION:+ in partition $PARTITION}"
    if [[ -z "${CPUS:-}" ]]; then
        CPUS=$((node_cpus < 4 ? node_cpus : 4))
    fi
    positive --cpus "$CPUS"
    ((CPUS <= node_cpus)) ||
        die "--cpus $CPUS: the largest node${PARTITION:+ in partition $PARTITION} has $node_cpus CPUs"
}

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
