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

# shellcheck source=lib.sh
source "$here/lib.sh"

TAKES="--shards --cpus --mem --time --partition --work --out --csmarket --retries --requeues --signal-secs --save-secs --resubmit"
RESUBMIT=""
read_options "$@"
set -- "${REST[@]}"
[[ "${1:-}" == -* ]] && die "unknown option $1 (see --help)"
resubmit=$RESUBMIT

if [[ -n "$resubmit" ]]; then
    (($# == 0)) || die "--resubmit takes no command: the submission's own is used"
    [[ -f "$resubmit/submission/settings" ]] || die "$resubmit is not the WORK folder of a submission"
    # shellcheck source=/dev/null
    source "$resubmit/submission/settings"
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

check_options

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

echo "csmarket $command $* as $SHARDS shards of $CPUS CPUs, $MEM, $TIME per attempt"
submit_round 1 "0-$((SHARDS - 1))"
echo "watch:   squeue --name=$NAME; tail -f $WORK/logs/finish.log"
echo "stop:    scancel --name=$NAME"
echo "results: $OUT"
