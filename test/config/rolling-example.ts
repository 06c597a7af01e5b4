/**
 * The rolling and recreate config from the issue, as a user would write it
 * (line numbers matter: the tests check where problems are reported). The
 * issue lists max_surge and max_unavailable beside parallelism; they are
 * other ways of sizing the same batch, one per order, so they are written
 * here as the comments a user would keep, and tested on their own.
 */
export const ROLLING_EXAMPLE = `analysis:
  errors:
    metrics:
      - name: errors
        provider: { builtin: error-rate }
        count: 3
        failure_condition: result > 0.05
services:
  api:
    command: node api.js
    instances: 4
    critical: true            # default false; for \`cutover deploy --all\` ordering
    strategy:
      type: rolling
      parallelism: 1          # default 1; instances replaced per batch
      # max_surge: 1          # with order start-first, sets the batch size (instead of parallelism)
      # max_unavailable: 1    # with order stop-first, sets the batch size (instead of parallelism)
      order: start-first      # start-first (default) | stop-first
      delay: 0s               # between batches, default 0s (zero allowed)
      monitor: 10s            # default 5s (zero allowed); no shorter than the analysis interval (10s)
      failure_action: rollback   # rollback (default) | pause | continue
      max_failure_ratio: 0    # 0..1, default 0
      timeout: 2m             # per batch health timeout, default 2m
      analysis: [errors]      # template names, default []
  dev:
    command: node dev.js
    strategy: recreate        # or { type: recreate, timeout: 2m }
`;
