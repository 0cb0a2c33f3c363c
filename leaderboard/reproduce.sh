#!/usr/bin/env bash
# Re-run every row of leaderboard/README.md: each method on SynthRS (synthetic data) from the shipped
# pretrained rsbench-tiny, seeds 0 1 2, defaults otherwise; then render the tables from the records.
#   bash leaderboard/reproduce.sh [extra rsbench run flags, e.g. --device cuda]
# Records go to leaderboard/results/ (one JSON per run and seed); tables to leaderboard/.
set -euo pipefail
cd "$(dirname "$0")/.."
seeds=(--seed 0 --seed 1 --seed 2)
methods=(
  "--adapter frozen --sampler batch --aug none"
  "--adapter linear-probe --sampler batch --aug none"
  "--adapter clip-bitfit --sampler batch --aug none"
  "--adapter clip-adapter --sampler batch --aug none"
  "--adapter clip-lora --sampler batch --aug none"
  "--adapter full --sampler batch --aug none"
  "--adapter focus --sampler batch --aug none"
  "--adapter focus --sampler queue --aug none"
  "--adapter focus --sampler queue --aug scene"
  "--adapter focus --sampler queue --aug scene --set augmenter.at_eval=none"
  "--adapter focus --sampler queue --aug scene --set augmenter.at_eval=predicted"
)
for method in "${methods[@]}"; do
  # shellcheck disable=SC2086
  rsbench run $method "${seeds[@]}" --results-dir leaderboard/results "$@"
done
rsbench leaderboard --results-dir leaderboard/results --out-dir leaderboard
