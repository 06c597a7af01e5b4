import { Document, isCollection, isPair, isScalar, type Node, type Pair } from 'yaml';
import type { ComposeImport, ImportEntry } from '../core/compose-mapping.js';

/**
 * The cutover.yaml that `cutover init --from` writes, built with the yaml
 * library's document API: every value from the Compose file is a node the
 * library quotes as it must, never text pasted into YAML, so a service name,
 * an env value with a newline or a `#`, or a `*alias`-looking string comes
 * out as the same string. Comments say where each key came from; the file
 * ends with what was not mapped and why.
 */

/** Comments are one line each: a value quoted in one cannot start a line of YAML. */
// eslint-disable-next-line no-control-regex -- control characters are what this removes
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f]/g;
const oneLine = (text: string): string => text.replace(/[\r\n\u2028\u2029\u0085]+/g, ' ').replace(CONTROL, '?');

/** Short lists and maps of plain values read best on one line, like the starter config's; env stays a block. */
function flowIfSmall(node: unknown): void {
  if (!isCollection(node)) return;
  const items = node.items as unknown[];
  const plain = items.every((item) => isScalar(item) || (isPair(item) && isScalar(item.value)));
  if (plain && JSON.stringify(node.toJSON()).length <= 100) node.flow = true;
}

export function renderComposeImport(imported: ComposeImport, source: string): string {
  const doc = new Document({});
  const header = [
    ` cutover.yaml written by \`cutover init --from ${oneLine(source)}\`.`,
    ' Each key says where it came from; what could not be mapped is listed at the end, with why.',
    ' Check it with `cutover doctor`, then run `cutover server` and `cutover deploy <service> --version <tag>`.',
    ` Deploy order (\`cutover deploy --all\`): ${imported.services.map((s) => s.name).join(', ')}`,
  ];
  const references = [...new Set(imported.references.map((r) => r.name))];
  if (references.length > 0)
    header.push(` Set before \`cutover server\` (their values were not copied here): ${references.join(', ')}`);
  doc.commentBefore = header.map(oneLine).join('\n');

  doc.set('server', doc.createNode({ proxy: '127.0.0.1:8080', admin: '127.0.0.1:9900', state_dir: '.cutover' }));
  const proxy = doc.getIn(['server', 'proxy'], true) as Node;
  proxy.comment = oneLine(
    ' where users arrive (the published ports of Compose): 0.0.0.0:80 to take them from everywhere',
  );

  const services = doc.createNode({}) as ReturnType<Document['createNode']> & { items: Pair[] };
  for (const service of imported.services) {
    const map = doc.createNode({}) as typeof services;
    map.commentBefore = oneLine(` from Compose service ${JSON.stringify(service.from)}`);
    for (const entry of service.entries) map.items.push(pairOf(doc, entry));
    services.items.push(doc.createPair(service.name, map));
  }
  doc.set('services', services);
  if (imported.secrets.length > 0) {
    doc.set('secrets', doc.createNode(imported.secrets));
    const list = doc.get('secrets', true) as Node;
    flowIfSmall(list);
    list.commentBefore = oneLine(' redacted like secret-named variables: their Compose values looked secret');
  }
  if (imported.notes.length > 0)
    doc.comment = [
      ' Not mapped from the Compose file, and why:',
      ...imported.notes.map((n) => ` - ${n.path}: ${n.reason}`),
    ]
      .map(oneLine)
      .join('\n');
  return doc.toString({ lineWidth: 0, flowCollectionPadding: false });
}

function pairOf(doc: Document, entry: ImportEntry): Pair {
  const pair = doc.createPair(entry.key, entry.value);
  flowIfSmall(pair.value);
  if (entry.comment !== undefined) pair.key.commentBefore = oneLine(` ${entry.comment}`);
  return pair;
}
