/**
 * How long `cutover migrate lint` takes from the command line, start-up
 * included: the figure a developer feels in a pre-commit hook and CI.
 *
 *   npm run build && node dist/bench/lint-bench.js            (LINT_BENCH_RUNS=30 per case by default)
 *   node dist/bench/lint-bench.js --eager                      the same, every module loaded up front
 *   node dist/bench/lint-bench.js --cli /elsewhere/bin/cutover.js   another build (e.g. an older commit)
 *   node dist/bench/lint-bench.js --paired /elsewhere/bin/cutover.js
 *       that build, this one and this one --eager, run by run in turn, so a
 *       busy machine's load falls on all three alike
 *
 * Each case runs the real CLI (`node bin/cutover.js ...`, no shell) in a
 * fresh process: 3 warm-up rounds, then LINT_BENCH_RUNS rounds, each running
 * `node -e ""` (the floor) once and every case once per build, in turn. It
 * prints the wall time's p50, p95 and minimum and the CPU time's p50 and
 * minimum of `--help`, a lint of a one-line file and a lint of a
 * 2,000-statement file. `--eager` preloads (node --import) what the CLI loads
 * only on demand (the full command tree, the server with fastify and SQLite,
 * pg, dockerode, the config schemas, the linter and its parser): what every
 * command would pay without the lazy loading. Then, in this process, what
 * libpg-query costs: its import, its WASM start (the first parse), a parse of
 * the 2,000 statements and a scan of them. Raw figures go to
 * bench/results/lint-*-latest.json (git-ignored).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import v8 from 'node:v8';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const argv = process.argv.slice(2);
const option = (name: string): string | undefined => {
  const at = argv.indexOf(name);
  return at >= 0 ? argv[at + 1] : undefined;
};
const cli = path.resolve(option('--cli') ?? path.join(repo, 'bin/cutover.js'));
const eager = argv.includes('--eager');
const pairedWith = option('--paired');
const paired = pairedWith === undefined ? null : path.resolve(pairedWith);
const runs = Number(process.env.LINT_BENCH_RUNS ?? 30);

/** What the CLI loads on demand, relative to the build's dist/src (a module missing from an older build is skipped). */
const LAZY_MODULES = [
  'cli/cutover-program.js',
  'cli/build-info.js',
  'cli/commands/server-command.js',
  'cli/commands/down-command.js',
  'cli/commands/doctor-command.js',
  'config/load-config.js',
  'migrate/lint/index.js',
  'migrate/database-catalog-reader.js',
];
const LAZY_PACKAGES = ['fastify', 'pg', 'dockerode', 'better-sqlite3', 'pino', 'libpg-query', 'yaml', 'zod'];

/** 2,000 statements of the kinds migrations hold, on 250 tables, behind the SETs that keep them quiet but for a few. */
function bigMigration(): string {
  const kinds = [
    (t: string) => `ALTER TABLE ${t} ADD COLUMN note text;`,
    (t: string) => `ALTER TABLE ${t} ADD COLUMN created_at timestamptz DEFAULT now();`,
    (t: string) => `CREATE TABLE ${t}_archive (id bigint PRIMARY KEY, payload jsonb NOT NULL DEFAULT '{}');`,
    (t: string) => `ALTER TABLE ${t} ADD CONSTRAINT ${t}_note_len CHECK (length(note) < 500) NOT VALID;`,
    (t: string) => `UPDATE ${t} SET note = 'n/a' WHERE id < 100 AND note IS NULL;`,
    (t: string) => `COMMENT ON COLUMN ${t}.note IS 'free text, up to 500 characters';`,
    (t: string) => `ALTER TABLE ${t} ALTER COLUMN note SET DEFAULT '';`,
    (t: string) => `INSERT INTO ${t}_archive (id, payload) SELECT id, to_jsonb(x) FROM ${t} x WHERE id < 10;`,
  ];
  const lines = ["SET lock_timeout = '5s';", "SET statement_timeout = '5min';"];
  for (let i = 0; lines.length < 2_000; i++) lines.push(kinds[i % kinds.length]!(`table_${Math.floor(i / 8)}`));
  return lines.join('\n') + '\n';
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

interface CaseFigures {
  name: string;
  p50: number;
  p95: number;
  min: number;
  /** The child's user + sys CPU time, median (10 ms resolution); null without /usr/bin/time. */
  cpuP50: number | null;
  cpuMin: number | null;
}

/** /usr/bin/time gives the child's CPU time (user + sys), which a busy machine inflates far less than wall time. */
const TIME = fs.existsSync('/usr/bin/time') ? '/usr/bin/time' : null;

interface Sample {
  wall: number;
  cpu: number | null;
}

function runOnce(name: string, nodeArgs: string[], cwd: string): Sample {
  const command = TIME ?? process.execPath;
  const args = TIME ? ['-f', 'cpu %U %S', process.execPath, ...nodeArgs] : nodeArgs;
  const start = performance.now();
  const answer = spawnSync(command, args, { cwd, encoding: 'utf8', timeout: 30_000 });
  const wall = performance.now() - start;
  // Exit 1 is a lint with findings; anything else means the case did not run as meant.
  if (answer.status !== 0 && answer.status !== 1) throw new Error(`${name}: exit ${answer.status}\n${answer.stderr}`);
  const cpu = /cpu ([\d.]+) ([\d.]+)\s*$/.exec(answer.stderr);
  return { wall, cpu: cpu ? (Number(cpu[1]) + Number(cpu[2])) * 1000 : null };
}

function figuresOf(name: string, samples: readonly Sample[]): CaseFigures {
  const times = samples.map((m) => m.wall).sort((a, b) => a - b);
  const cpu = samples.flatMap((m) => (m.cpu === null ? [] : [m.cpu])).sort((a, b) => a - b);
  return {
    name,
    p50: percentile(times, 50),
    p95: percentile(times, 95),
    min: times[0]!,
    cpuP50: cpu.length > 0 ? percentile(cpu, 50) : null,
    cpuMin: cpu.length > 0 ? cpu[0]! : null,
  };
}

/** A build of the CLI, maybe with every lazy module preloaded. */
interface Variant {
  label: string;
  cli: string;
  preload: string | null;
}

interface LintCase {
  name: string;
  args: string[];
}

/**
 * 3 warm-up rounds, then `runs` rounds; each round runs the floor once and
 * every case once per variant, in turn, so a change of load between rounds
 * falls on all of them alike.
 */
function timeRounds(
  cases: readonly LintCase[],
  variants: readonly Variant[],
  cwd: string,
): { floor: CaseFigures; cases: CaseFigures[] } {
  const floor: Sample[] = [];
  const samples = new Map<string, Sample[]>();
  const key = (lintCase: LintCase, variant: Variant): string => `${lintCase.name} | ${variant.label}`;
  for (let round = -3; round < runs; round++) {
    const recorded = (sample: Sample, into: Sample[]): void => {
      if (round >= 0) into.push(sample);
    };
    recorded(runOnce('node -e ""', ['-e', ''], cwd), floor);
    for (const lintCase of cases)
      for (const variant of variants) {
        const nodeArgs = [...(variant.preload ? ['--import', variant.preload] : []), variant.cli, ...lintCase.args];
        const list = samples.get(key(lintCase, variant)) ?? [];
        samples.set(key(lintCase, variant), list);
        recorded(runOnce(key(lintCase, variant), nodeArgs, cwd), list);
      }
  }
  return {
    floor: figuresOf('node -e "" (the floor, once a round)', floor),
    cases: cases.flatMap((lintCase) =>
      variants.map((variant) => figuresOf(key(lintCase, variant), samples.get(key(lintCase, variant))!)),
    ),
  };
}

/** What `node --import` runs first for --eager: every module the CLI at `cli` loads on demand (a missing one is skipped). */
function writeEagerPreload(cli: string): string {
  const dist = path.join(path.dirname(cli), '../dist/src');
  const imports = [
    ...LAZY_PACKAGES.map((name) => `await import(${JSON.stringify(name)}).catch(() => {});`),
    ...LAZY_MODULES.map(
      (module) => `await import(${JSON.stringify(pathToFileURL(path.join(dist, module)).href)}).catch(() => {});`,
    ),
  ];
  // In the repository, so the packages resolve from its node_modules.
  const preload = path.join(path.dirname(cli), `.lint-bench-eager-${process.pid}.mjs`);
  fs.writeFileSync(preload, imports.join('\n') + '\n');
  return preload;
}

/** In this process, on the baseline compiler only, as the CLI runs it (see keepParserOnBaselineTier in migrate-lint-command.ts). */
async function parserCost(sql: string): Promise<Record<string, number>> {
  v8.setFlagsFromString('--liftoff-only');
  const start = performance.now();
  const parser = await import('libpg-query');
  const imported = performance.now();
  await parser.parse('SELECT 1');
  const started = performance.now();
  await parser.parse(sql);
  const parsed = performance.now();
  await parser.scan(sql);
  const scanned = performance.now();
  return {
    importMs: imported - start,
    wasmStartMs: started - imported,
    parse2000Ms: parsed - started,
    scan2000Ms: scanned - parsed,
  };
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-lint-bench-'));
  const preloads: string[] = [];
  try {
    fs.writeFileSync(path.join(dir, 'one-line.sql'), 'ALTER TABLE users ADD COLUMN nickname text;\n');
    const big = bigMigration();
    fs.writeFileSync(path.join(dir, 'two-thousand.sql'), big);
    const eagerVariant = (): Variant => {
      const preload = writeEagerPreload(cli);
      preloads.push(preload);
      return { label: 'now --eager', cli, preload };
    };
    const variants: Variant[] = paired
      ? [{ label: 'before', cli: paired, preload: null }, { label: 'now', cli, preload: null }, eagerVariant()]
      : [eager ? eagerVariant() : { label: 'now', cli, preload: null }];
    const cases: LintCase[] = [
      { name: 'cutover --help', args: ['--help'] },
      { name: 'migrate lint one-line.sql', args: ['migrate', 'lint', '--lock-timeout', '5s', 'one-line.sql'] },
      {
        name: 'migrate lint two-thousand.sql (2,000 statements)',
        args: ['migrate', 'lint', '--lock-timeout', '5s', 'two-thousand.sql'],
      },
    ];
    const loadBefore = os.loadavg()[0]!;
    const timed = timeRounds(cases, variants, dir);
    const parser = await parserCost(big);
    const load = os.loadavg()[0]!;
    for (const variant of variants)
      console.log(`${variant.label}: ${variant.cli}${variant.preload ? ' (every lazy module preloaded)' : ''}`);
    console.log(
      `${runs} runs per case; load average ${loadBefore.toFixed(2)} at the start, ${load.toFixed(2)} at the end, on ${os.cpus().length} cores`,
    );
    for (const figures of [timed.floor, ...timed.cases])
      console.log(
        `${figures.name.padEnd(66)} p50 ${figures.p50.toFixed(0).padStart(4)} ms   p95 ${figures.p95.toFixed(0).padStart(4)} ms   min ${figures.min.toFixed(0).padStart(4)} ms   cpu p50 ${figures.cpuP50 === null ? '-' : figures.cpuP50.toFixed(0).padStart(4)} ms   cpu min ${figures.cpuMin === null ? '-' : figures.cpuMin.toFixed(0).padStart(4)} ms`,
      );
    console.log(
      `libpg-query in-process: import ${parser.importMs!.toFixed(0)} ms, WASM start (first parse) ${parser.wasmStartMs!.toFixed(0)} ms, parse of the 2,000 statements ${parser.parse2000Ms!.toFixed(0)} ms, its scan ${parser.scan2000Ms!.toFixed(0)} ms (which a lint of a file without comments no longer runs)`,
    );
    const results = path.join(repo, 'bench/results');
    fs.mkdirSync(results, { recursive: true });
    fs.writeFileSync(
      path.join(results, paired ? 'lint-paired-latest.json' : eager ? 'lint-eager-latest.json' : 'lint-latest.json'),
      JSON.stringify({ variants, runs, loadAverage: { start: loadBefore, end: load }, ...timed, parser }, null, 2),
    );
  } finally {
    for (const preload of preloads) fs.rmSync(preload, { force: true });
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
