#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Submits a csmarket command to Slurm as an array of shards and a finish job that merges them,
# and that submits again, by itself, any shard that was killed, timed out or was cancelled.
#
#   examples/slurm/submit.sh [OPTIONS] COMMAND [ARGS...]
#   examples/slurm/submit.sh --shards 16 --cpus 4 run scenarios/england-2012.toml -n 1000000
#   examples/slurm/submit.sh --resubmit WORK     # carry on a submission that gave up
#
# See README.md for a walk through submit, watch, failure and recovery.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
# Commands that take --shard K/N and whose shards `csmarket merge` joins (calibrate is split by
# generation instead: see calibrate.sh).
SHARDABLE=(run compare sweep sensitivity backtest)

usage() {
    cat <<EOF
Usage: $0 [OPTIONS] COMMAND [ARGS...]
       $0 --resubmit WORK

Runs \`csmarket COMMAND ARGS --shard K/N --resume --out WORK/shard-K\` as Slurm array task K, then
merges the shards into WORK/merged. Shardable commands: ${SHARDABLE[*]}.

Options (each may also be given in the environment variable in brackets):
  --shards N           array tasks, one shard each [SHARDS, default 4]
  --cpus N             CPUs per task; csmarket runs that many threads
                       [CPUS, default 4 or the largest node's CPUs if fewer]
  --mem SIZE           memory per task, as sbatch --mem [MEM, default 2G]
  --time LIMIT         time limit per task attempt, as sbatch --time [TIME, default 01:00:00];
                       a shard that needs longer saves and requeues itself
  --partition NAME     partition [PARTITION, default the cluster's default]
  --work DIR           folder every node can see, for shards, logs and markers
                       [WORK, default results/slurm-COMMAND-DATE]
  --out DIR            merged output [OUT, default WORK/merged]
  --csmarket PATH      the csmarket binary [CSMARKET, default csmarket on PATH]
  --retries N          times the finish job submits missing shards again [RETRIES, default 3]
  --requeues N         times a task may requeue itself in all [REQUEUES, default 20]
  --signal-secs S      the warning before the time limit at which a task saves and requeues;
                       more than one block of 1024 replications takes [SIGNAL_SECS, default 120]
  --save-secs S        seconds between saves of progress of run and compare (sweep, sensitivity
                       and backtest save after each piece) [SAVE_SECS, default 60]
  --resubmit WORK      submit again the shards of WORK that are not complete, and a finish job
EOF
}

die() {
    echo "submit.sh: $*" >&2
    exit 2
}

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

positive() { [[ "$2" =~ ^[1-9][0-9]*$ ]] || die "$1 must be a whole number above 0, not '$2'"; }

resubmit=""
while (($#)); do
    case $1 in
    -h | --help)
        usage
        exit 0
        ;;
    --shards | --cpus | --mem | --time | --partition | --work | --out | --csmarket | --retries | \
        --requeues | --signal-secs | --save-secs | --resubmit)
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
        --resubmit) resubmit=$2 ;;
        esac
        shift 2
        ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) break ;;
    esac
done

if [[ -n "$resubmit" ]]; then
    (($# == 0)) || die "--resubmit takes no command: the submission's own is used"
    [[ -f "$resubmit/submission/settings" ]] || die "$resubmit is not the WORK folder of a submission"
    # shellcheck source=/dev/null
    source "$resubmit/submission/settings"
    # shellcheck source=lib.sh
    source "$here/lib.sh"
    HERE=$here
    [[ -f "$WORK/done/merged" ]] && {
        echo "already merged into $OUT"
        exit 0
    }
    rm -rf "$WORK/refused"
    missing=$(missing_shards)
    # With every shard complete the finish job only merges.
    submit_round 1 "${missing:-0}"
    exit 0
fi

(($# >= 1)) || {
    usage >&2
    exit 2
}
command=$1
shift
[[ " ${SHARDABLE[*]} " == *" $command "* ]] ||
    die "'$command' cannot be split into shards here; shardable: ${SHARDABLE[*]} (calibrate: use calibrate.sh)"
for a in "$@"; do
    case $a in
    --out | --out=* | --shard | --shard=* | --resume | --threads | --threads=* | -j* | --save-secs* | --checkpoint-secs*)
        die "leave $a out: the scripts set --out, --shard, --resume, --threads and --save-secs"
        ;;
    esac
done

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
limit=$(limit_seconds "$TIME") || die "--time '$TIME' is not a Slurm time limit (MM, HH:MM:SS, D-HH:MM ...)"
((SIGNAL_SECS < limit)) ||
    die "--signal-secs $SIGNAL_SECS is not below --time $TIME ($limit s): a task would be warned before it starts"

command -v sbatch >/dev/null || die "sbatch is not on PATH: run this on a Slurm login node"
found=$(command -v "$CSMARKET") || die "csmarket binary '$CSMARKET' not found (set --csmarket or CSMARKET)"
CSMARKET=$(realpath "$found")

# A task asking for more than any node has would stay pending for ever without a word (or be
# refused by sbatch): say so now.
part_flag=()
[[ -n "$PARTITION" ]] && part_flag=(--partition="$PARTITION")
node_cpus=$(sinfo -h "${part_flag[@]}" -o %c | tr -d '+' | sort -n | tail -n 1)
[[ "$node_cpus" =~ ^[0-9]+$ ]] || die "sinfo found no nodes${PARTITION:+ in partition $PARTITION}"
if [[ -z "${CPUS:-}" ]]; then
    CPUS=$((node_cpus < 4 ? node_cpus : 4))
fi
positive --cpus "$CPUS"
((CPUS <= node_cpus)) ||
    die "--cpus $CPUS: the largest node${PARTITION:+ in partition $PARTITION} has $node_cpus CPUs"

WORK=${WORK:-results/slurm-$command-$(date +%Y%m%d-%H%M%S)}
[[ -e "$WORK/submission" ]] && die "$WORK already holds a submission: use --resubmit $WORK, or another --work"
mkdir -p "$WORK"/{submission,logs,done}
WORK=$(cd "$WORK" && pwd)
OUT=${OUT:-$WORK/merged}
mkdir -p "$(dirname "$OUT")"
OUT="$(cd "$(dirname "$OUT")" && pwd)/$(basename "$OUT")"
NAME="csmarket-$(basename "$WORK")"
HERE=$here

printf '%s\0' "$command" "$@" >"$WORK/submission/command"
{
    echo "# The settings of this submission, read by every task and finish job."
    declare -p SHARDS CPUS MEM TIME PARTITION RETRIES REQUEUES SIGNAL_SECS SAVE_SECS \
        CSMARKET WORK OUT NAME HERE
} >"$WORK/submission/settings"

# shellcheck source=lib.sh
source "$here/lib.sh"
echo "csmarket $command $* as $SHARDS shards of $CPUS CPUs, $MEM, $TIME per attempt"
submit_round 1 "0-$((SHARDS - 1))"
echo "watch:   squeue --name=$NAME; tail -f $WORK/logs/finish.log"
echo "stop:    scancel --name=$NAME"
echo "results: $OUT"
