/**
 * The canary config from the issue, as a user would write it (line numbers
 * matter: the tests check where problems are reported). The web and command
 * metrics carry a condition, which every metric needs.
 */
export const CANARY_EXAMPLE = `analysis:
  error-rate:
    metrics:
      - name: errors
        provider: { builtin: error-rate }
        interval: 2s
        count: 5
        initial_delay: 0s
        failure_condition: result > 0.05
        success_condition: result <= 0.05
        failure_limit: 0
        inconclusive_limit: 0
        consecutive_error_limit: 4
      - name: judge
        provider: { builtin: baseline }
        interval: 5s
        success_condition: result == 1
      - name: prom-errors
        provider: { prometheus: { url: http://127.0.0.1:9090, query: 'sum(rate(x[1m]))', timeout: 5s } }
        failure_condition: result > 0.01
      - name: web-check
        provider: { web: { url: http://127.0.0.1:8000/stats, method: GET, headers: {}, body: null, json_path: $.errors.rate, timeout: 5s } }
        failure_condition: result > 0.01
      - name: script
        provider: { command: { command: ./check.sh, timeout: 30s } }
        success_condition: result.exitCode == 0
services:
  web:
    command: node server.js
    instances: 3
    strategy:
      type: canary
      steps:
        - { weight: 5, pause: 1m, analysis: [error-rate] }
        - { weight: 25, pause: 2m }
        - { weight: 50, pause: promote }
        - { weight: 100 }
      canary_instances: 1
      stickiness: { by: cookie, name: cutover_canary }
      match: [ { header: X-Canary, value: always }, { cookie: canary, value: "1" } ]
      analysis: [error-rate]
      post_promotion: { window: 5m, analysis: [error-rate] }
      scale_down_delay: 10m
      timeout: 2m
`;
