// Commit subjects of at most 72 characters (git's own shortlog, GitHub and
// `git log --oneline` cut there), checked for every commit since the rule
// came in. Older history is left as it is: rewriting main is worse.
import { execFileSync } from 'node:child_process';

const RULE_SINCE = '2fd6d79'; // the last commit before the rule (issue 13)
const LIMIT = 72;

function git(...args) {
  return execFileSync('git', args, { encoding: 'utf8' });
}

let range = `${RULE_SINCE}..HEAD`;
try {
  git('cat-file', '-e', `${RULE_SINCE}^{commit}`);
} catch {
  // A shallow clone without the base: check what it has.
  range = 'HEAD';
}
const long = git('log', '--no-merges', '--format=%h %s', range)
  .split('\n')
  .filter(Boolean)
  .filter((line) => line.slice(line.indexOf(' ') + 1).length > LIMIT);
if (long.length > 0) {
  console.error(`Commit subjects over ${LIMIT} characters (put the why in the body):`);
  for (const line of long) console.error(`  ${line}`);
  process.exit(1);
}
console.log(`commit subjects: all within ${LIMIT} characters (${range})`);
