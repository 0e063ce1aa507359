#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Runs `csmarket calibrate` on Slurm generation by generation: each generation's particles as an
# array of shards (`calibrate --shard K/N`), then a merge job (`calibrate --merge N`) that folds
# them into the generation and submits the next generation's array and merge, until the
# calibration stops. A shard that did not finish (killed, timed out, cancelled, node failure) is
# submitted again by the merge job, at most --retries times a generation.
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
  --time LIMIT       time limit of one shard of a generation [TIME, default 01:00:00]
  --partition NAME   partition [PARTITION, default the cluster's default]
  --work DIR         folder every node can see [WORK, default results/slurm-calibrate-DATE]
  --csmarket PATH    the csmarket binary [CSMARKET, default csmarket on PATH]
  --retries N        times a generation's missing shards are submitted again [RETRIES, default 3]
EOF2
}

die() {
    echo "calibrate.sh: $*" >&2
    exit 2
}
positive() { [[ "$2" =~ ^[1-9][0-9]*$ ]] || die "$1 must be a whole number above 0, not '$2'"; }

while (($#)); do
    case $1 in
    -h | --help)
        usage
        exit 0
        ;;
    --shards | --cpus | --mem | --time | --partition | --work | --csmarket | --retries)
        (($# >= 2)) || die "$1 needs a value"
        case $1 in
        --shards) SHARDS=$2 ;;
        --cpus) CPUS=$2 ;;
        --mem) MEM=$2 ;;
        --time) TIME=$2 ;;
        --partition) PARTITION=$2 ;;
        --work) WORK=$2 ;;
        --csmarket) CSMARKET=$2 ;;
        --retries) RETRIES=$2 ;;
        esac
        shift 2
        ;;
    *) break ;;
    esac
done
for a in "$@"; do
    case $a in
    --out | --out=* | --shard | --shard=* | --merge | --merge=* | --resume | --threads | --threads=* | -j*)
        die "leave $a out: the scripts set --out, --shard, --merge and --threads"
        ;;
    esac
done

SHARDS=${SHARDS:-4}
MEM=${MEM:-2G}
TIME=${TIME:-01:00:00}
PARTITION=${PARTITION:-}
RETRIES=${RETRIES:-3}
CSMARKET=${CSMARKET:-csmarket}
positive --shards "$SHARDS"
[[ "$RETRIES" =~ ^[0-9]+$ ]] || die "--retries must be a whole number, not '$RETRIES'"
command -v sbatch >/dev/null || die "sbatch is not on PATH: run this on a Slurm login node"
found=$(command -v "$CSMARKET") || die "csmarket binary '$CSMARKET' not found (set --csmarket or CSMARKET)"
CSMARKET=$(realpath "$found")
part_flag=()
[[ -n "$PARTITION" ]] && part_flag=(--partition="$PARTITION")
node_cpus=$(sinfo -h "${part_flag[@]}" -o %c | tr -d '+' | sort -n | tail -n 1)
[[ "$node_cpus" =~ ^[0-9]+$ ]] || die "sinfo found no nodes${PARTITION:+ in partition $PARTITION}"
[[ -n "${CPUS:-}" ]] || CPUS=$((node_cpus < 4 ? node_cpus : 4))
positive --cpus "$CPUS"
((CPUS <= node_cpus)) || die "--cpus $CPUS: the largest node has $node_cpus CPUs"

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
    declare -p SHARDS CPUS MEM TIME PARTITION RETRIES CSMARKET WORK NAME HERE
} >"$WORK/submission/settings"

# shellcheck source=calibrate-lib.sh
source "$here/calibrate-lib.sh"
echo "csmarket calibrate $* in generations of $SHARDS shards of $CPUS CPUs, $MEM, $TIME"
submit_generation 0 1 "0-$((SHARDS - 1))"
echo "watch:   squeue --name=$NAME; tail -f $WORK/logs/merge.log"
echo "stop:    scancel --name=$NAME"
echo "results: $WORK/main/calibrate"
