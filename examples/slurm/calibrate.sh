#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Runs `csmarket calibrate` on Slurm generation by generation: each generation's particles as an
# array of shards (`calibrate --shard K/N`), then a merge job (`calibrate --merge N`) that folds
# them into the generation and submits the next generation's array and merge, until the
# calibration stops. A shard saves the particles it finishes: warned of its time limit, or with
# csmarket killed, it requeues itself and resumes; a shard that did not finish (cancelled, node
# failure, out of requeues) is submitted again by the merge job, at most --retries times a
# generation, and resumes too.
#
#   examples/slurm/calibrate.sh [OPTIONS] [SCENARIO] [CALIBRATE ARGS...]
#   examples/slurm/calibrate.sh --shards 8 --cpus 4 scenarios/england-2012.toml --particles 400
#
# See README.md ("Calibration, generation by generation").
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"

usage() {
    cat <<EOF2
Usage: $0 [OPTIONS] [SCENARIO] [CALIBRATE ARGS...]

Each generation: \`csmarket calibrate ARGS --shard K/N\` as array task K (in its own folder, from a
copy of the generations so far), then \`csmarket calibrate ARGS --merge N --out WORK/main\`.
The results are in WORK/main/calibrate/.

Options (each may also be given in the environment variable in brackets):
  --shards N         array tasks a generation [SHARDS, default 4]
  --cpus N           CPUs per task [CPUS, default 4 or the largest node's CPUs if fewer]
  --mem SIZE         memory per task, as sbatch --mem [MEM, default 2G]
  --time LIMIT       time limit of one attempt at a shard of a generation; a longer shard saves
                     the particles it finished and requeues itself [TIME, default 01:00:00]
  --partition NAME   partition [PARTITION, default the cluster's default]
  --work DIR         folder every node can see [WORK, default results/slurm-calibrate-DATE]
  --csmarket PATH    the csmarket binary [CSMARKET, default csmarket on PATH]
  --retries N        times a generation's missing shards are submitted again [RETRIES, default 3]
  --requeues N       times a task may requeue itself in all [REQUEUES, default 20]
  --signal-secs S    the warning before the time limit at which a task stops csmarket, which
                     saves the particles it finished once those it is running end: more than
                     one particle takes [SIGNAL_SECS, default 120]
EOF2
}

# shellcheck source=lib.sh
source "$here/lib.sh"

TAKES="--shards --cpus --mem --time --partition --work --csmarket --retries --requeues --signal-secs"
read_options "$@"
set -- "${REST[@]}"
for a in "$@"; do
    case $a in
    --out | --out=* | --shard | --shard=* | --merge | --merge=* | --resume | --threads | --threads=* | -j*)
        die "leave $a out: the scripts set --out, --shard, --merge, --resume and --threads"
        ;;
    esac
done

check_options

WORK=${WORK:-results/slurm-calibrate-$(date +%Y%m%d-%H%M%S)}
[[ -e "$WORK/submission" ]] && die "$WORK already holds a submission; use another --work"
mkdir -p "$WORK"/{submission,logs,main}
WORK=$(cd "$WORK" && pwd)
NAME="csmarket-$(basename "$WORK")"
HERE=$here
# The calibration starts afresh: a check of the arguments on this machine (a generation of
# nothing) would cost a whole generation, so the first shard's exit status 2 says instead.
printf '%s\0' calibrate "$@" >"$WORK/submission/command"
{
    echo "# The settings of this calibration, read by every task and merge job."
    declare -p SHARDS CPUS MEM TIME PARTITION RETRIES REQUEUES SIGNAL_SECS CSMARKET WORK NAME HERE
} >"$WORK/submission/settings"

# shellcheck source=calibrate-lib.sh
source "$here/calibrate-lib.sh"
echo "csmarket calibrate $* in generations of $SHARDS shards of $CPUS CPUs, $MEM, $TIME"
submit_generation 0 1 "0-$((SHARDS - 1))"
echo "watch:   squeue --name=$NAME; tail -f $WORK/logs/merge.log"
echo "stop:    scancel --name=$NAME"
echo "results: $WORK/main/calibrate"
