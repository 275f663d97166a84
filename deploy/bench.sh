#!/usr/bin/env bash
# The performance benchmark (see deploy/local.sh bench): the machine's limits for our work,
# then GridLoop against them, one run, figures to docs/benchmarks/performance.md.
exec "$(dirname "${BASH_SOURCE[0]}")/local.sh" bench "$@"
