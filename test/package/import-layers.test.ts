import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

/**
 * Who may import whom, checked against the table in docs/architecture.md
 * (section "Who may import whom"), so the picture a newcomer reads is the
 * rule CI enforces. A layer is a folder of src/; the adapters of the two
 * ports (src/runtime/<adapter>/, src/router/<adapter>/) are layers of their
 * own, `runtime/*` and `router/*`, so "the controller imports the Runtime
 * port, never an adapter" is one row of the table. Each row is its own test,
 * so a failure names the layer that broke the rule.
 */
const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SRC = path.join(REPO_ROOT, 'src');
const ANY = '*any*';

/** The layer of a path relative to src/. */
function layerOf(relative: string): string {
  const parts = relative.split(path.sep);
  if (parts.length === 1) return '(root)';
  if ((parts[0] === 'runtime' || parts[0] === 'router') && parts.length > 2) return `${parts[0]}/*`;
  return parts[0]!;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

/** Relative specifiers of static imports, re-exports and dynamic imports (type-only ones too: they still tie the layers). */
function relativeImports(source: string): string[] {
  const found: string[] = [];
  const pattern =
    /^\s*(?:import|export)\s[^'";]*?\sfrom\s+['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/gm;
  for (const match of source.matchAll(pattern)) {
    const specifier = match[1] ?? match[2] ?? match[3]!;
    if (specifier.startsWith('.')) found.push(specifier);
  }
  return found;
}

interface Edge {
  file: string;
  imported: string;
  from: string;
  to: string;
}

function crossLayerImports(): Edge[] {
  const edges: Edge[] = [];
  for (const file of sourceFiles(SRC)) {
    const relative = path.relative(SRC, file);
    for (const specifier of relativeImports(readFileSync(file, 'utf8'))) {
      const target = path.relative(SRC, path.resolve(path.dirname(file), specifier));
      const from = layerOf(relative);
      const to = target.startsWith('..') ? '(outside src)' : layerOf(target);
      if (from !== to) edges.push({ file: relative, imported: specifier, from, to });
    }
  }
  return edges;
}

/** The table's rows: layer → the layers it may import ("any layer" for the composition root). */
function readTable(): Map<string, Set<string>> {
  const doc = readFileSync(path.join(REPO_ROOT, 'docs/architecture.md'), 'utf8');
  const section = /## Who may import whom\n([\s\S]*?)(?:\n## |$)/.exec(doc);
  assert.ok(section, 'docs/architecture.md has a "## Who may import whom" section');
  const rows = new Map<string, Set<string>>();
  for (const line of section[1]!.split('\n')) {
    const cells = line.split('|').map((cell) => cell.trim());
    // | `layer` | may import |
    const layer = /^`([^`]+)`$/.exec(cells[1] ?? '')?.[1];
    if (!layer || cells.length < 4) continue;
    const allowed = cells[2]!;
    rows.set(
      layer,
      allowed.includes('any layer') ? new Set([ANY]) : new Set([...allowed.matchAll(/`([^`]+)`/g)].map((m) => m[1]!)),
    );
  }
  return rows;
}

const table = readTable();
const edges = crossLayerImports();

describe('who may import whom (docs/architecture.md)', () => {
  it('the table has a row for every layer of src/, and only for those', () => {
    const layers = new Set(sourceFiles(SRC).map((file) => layerOf(path.relative(SRC, file))));
    assert.deepEqual([...layers].filter((layer) => !table.has(layer)).sort(), [], 'layers without a row in the table');
    assert.deepEqual(
      [...table.keys()].filter((layer) => !layers.has(layer)).sort(),
      [],
      'rows for folders that do not exist',
    );
  });

  it('no file imports from outside src/', () => {
    assert.deepEqual(
      edges.filter((edge) => edge.to === '(outside src)').map((e) => `${e.file} imports ${e.imported}`),
      [],
    );
  });

  for (const [layer, allowed] of table) {
    const list = allowed.has(ANY)
      ? 'any layer'
      : allowed.size === 0
        ? 'nothing outside itself'
        : [...allowed].join(', ');
    it(`${layer} imports ${list}`, () => {
      if (allowed.has(ANY)) return;
      const broken = edges.filter(
        (edge) => edge.from === layer && edge.to !== '(outside src)' && !allowed.has(edge.to),
      );
      assert.deepEqual(
        broken.map((e) => `${e.file} imports ${e.imported} (${e.to})`),
        [],
      );
    });
  }

  it('api and dashboard do not import each other', () => {
    const loop = edges.filter(
      (e) => (e.from === 'api' && e.to === 'dashboard') || (e.from === 'dashboard' && e.to === 'api'),
    );
    assert.deepEqual(
      loop.map((e) => `${e.file} imports ${e.imported}`),
      [],
    );
  });

  it('the SDK takes only the pure flag files, never the server side of the feature', () => {
    const pure = new Set([
      'flag-model',
      'flag-schema',
      'evaluate',
      'constraint-match',
      'semver-compare',
      'merge-patch',
      'index',
    ]);
    const broken = edges.filter(
      (e) => e.from === 'sdk' && e.to === 'flags' && !pure.has(path.basename(e.imported, '.js')),
    );
    assert.deepEqual(
      broken.map((e) => `${e.file} imports ${e.imported}`),
      [],
    );
  });
});
