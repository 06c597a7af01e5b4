import type { AlterTableCmd, Node } from 'libpg-query';
import type { MigrationStatement } from './parsed-migration.js';
import { addedConstraints, alterTableCommands } from './statement-parts.js';
import { stringsOf, tableNameOf, type TableName } from './sql-names.js';

/**
 * Table-level locks, weakest first, as in the PostgreSQL manual's "Explicit
 * Locking" chapter. The order matters: SHARE and above conflict with
 * ROW EXCLUSIVE, the lock every INSERT, UPDATE and DELETE takes, and
 * ACCESS EXCLUSIVE conflicts with plain SELECT too.
 */
export const LOCK_MODES = [
  'ACCESS SHARE',
  'ROW SHARE',
  'ROW EXCLUSIVE',
  'SHARE UPDATE EXCLUSIVE',
  'SHARE',
  'SHARE ROW EXCLUSIVE',
  'EXCLUSIVE',
  'ACCESS EXCLUSIVE',
] as const;
export type LockMode = (typeof LOCK_MODES)[number];

export function blocksWrites(mode: LockMode): boolean {
  return LOCK_MODES.indexOf(mode) >= LOCK_MODES.indexOf('SHARE');
}

/** What a lock mode stops, in the words a message needs. */
export function lockEffect(mode: LockMode): string {
  if (mode === 'ACCESS EXCLUSIVE') return 'blocks every read and write of';
  if (blocksWrites(mode)) return 'blocks every write to';
  return 'blocks other schema changes of';
}

/** LockStmt's `mode` is PostgreSQL's lock number, 1 (ACCESS SHARE) to 8 (ACCESS EXCLUSIVE). */
export function lockModeOfNumber(mode: number | undefined): LockMode {
  return LOCK_MODES[(mode ?? 8) - 1] ?? 'ACCESS EXCLUSIVE';
}

export interface TableLock {
  /** Undefined when only an index is named (DROP INDEX): the parser does not know its table. */
  table: TableName | undefined;
  /** Set for locks reached through an index name. */
  index?: string;
  mode: LockMode;
}

/**
 * ALTER TABLE sub-commands that take less than ACCESS EXCLUSIVE (everything
 * not listed takes it), as the ALTER TABLE page of PostgreSQL 12–17 gives
 * them. VALIDATE CONSTRAINT is the reason NOT VALID exists: it scans under
 * SHARE UPDATE EXCLUSIVE, which lets reads and writes through. SET (storage
 * parameter) is SHARE UPDATE EXCLUSIVE for the ones migrations set
 * (fillfactor, autovacuum_*, toast.*, parallel_workers); a few rarer ones
 * take ACCESS EXCLUSIVE, which this table does not tell apart.
 */
const WEAKER_ALTER_TABLE_LOCKS: Partial<Record<NonNullable<AlterTableCmd['subtype']>, LockMode>> = {
  AT_ValidateConstraint: 'SHARE UPDATE EXCLUSIVE',
  AT_SetStatistics: 'SHARE UPDATE EXCLUSIVE',
  AT_ClusterOn: 'SHARE UPDATE EXCLUSIVE',
  AT_DropCluster: 'SHARE UPDATE EXCLUSIVE',
  AT_SetOptions: 'SHARE UPDATE EXCLUSIVE',
  AT_ResetOptions: 'SHARE UPDATE EXCLUSIVE',
  AT_AttachPartition: 'SHARE UPDATE EXCLUSIVE',
  AT_DetachPartitionFinalize: 'SHARE UPDATE EXCLUSIVE',
  AT_SetRelOptions: 'SHARE UPDATE EXCLUSIVE',
  AT_ResetRelOptions: 'SHARE UPDATE EXCLUSIVE',
  AT_EnableTrig: 'SHARE ROW EXCLUSIVE',
  AT_EnableAlwaysTrig: 'SHARE ROW EXCLUSIVE',
  AT_EnableReplicaTrig: 'SHARE ROW EXCLUSIVE',
  AT_DisableTrig: 'SHARE ROW EXCLUSIVE',
  AT_EnableTrigAll: 'SHARE ROW EXCLUSIVE',
  AT_DisableTrigAll: 'SHARE ROW EXCLUSIVE',
  AT_EnableTrigUser: 'SHARE ROW EXCLUSIVE',
  AT_DisableTrigUser: 'SHARE ROW EXCLUSIVE',
};

function alterTableLock(command: AlterTableCmd): LockMode {
  if (
    command.subtype === 'AT_AddConstraint' &&
    command.def &&
    'Constraint' in command.def &&
    command.def.Constraint.contype === 'CONSTR_FOREIGN'
  ) {
    return 'SHARE ROW EXCLUSIVE';
  }
  if (
    command.subtype === 'AT_DetachPartition' &&
    command.def &&
    'PartitionCmd' in command.def &&
    command.def.PartitionCmd.concurrent
  ) {
    return 'SHARE UPDATE EXCLUSIVE';
  }
  return (command.subtype && WEAKER_ALTER_TABLE_LOCKS[command.subtype]) ?? 'ACCESS EXCLUSIVE';
}

function strongest(modes: LockMode[]): LockMode | undefined {
  let best: LockMode | undefined;
  for (const mode of modes) if (!best || LOCK_MODES.indexOf(mode) > LOCK_MODES.indexOf(best)) best = mode;
  return best;
}

/** The table locks a statement takes (SHARE UPDATE EXCLUSIVE and up; weaker ones never hold up traffic). */
export function locksTakenBy(statement: MigrationStatement): TableLock[] {
  const node = statement.node;
  const locks: TableLock[] = [];
  const commands = alterTableCommands(statement);
  if (commands.length > 0) {
    const mode = strongest(commands.map(({ command }) => alterTableLock(command)));
    if (mode) locks.push({ table: commands[0]?.table, mode });
    for (const { command } of commands) {
      // ATTACH takes ACCESS EXCLUSIVE on the table it attaches; DETACH without CONCURRENTLY on the one it detaches.
      const partition = command.def && 'PartitionCmd' in command.def ? command.def.PartitionCmd : undefined;
      const attach = command.subtype === 'AT_AttachPartition';
      const plainDetach = command.subtype === 'AT_DetachPartition' && !partition?.concurrent;
      if (!partition || !(attach || plainDetach)) continue;
      locks.push({ table: tableNameOf(partition.name), mode: 'ACCESS EXCLUSIVE' });
    }
    for (const { constraint } of addedConstraints(statement)) {
      // A new foreign key also locks the table it references, against deletes and key updates.
      if (constraint.contype === 'CONSTR_FOREIGN')
        locks.push({ table: tableNameOf(constraint.pktable), mode: 'SHARE ROW EXCLUSIVE' });
    }
    return locks;
  }
  if ('IndexStmt' in node) {
    return [
      {
        table: tableNameOf(node.IndexStmt.relation),
        mode: node.IndexStmt.concurrent ? 'SHARE UPDATE EXCLUSIVE' : 'SHARE',
      },
    ];
  }
  if ('DropStmt' in node)
    return dropLocks(node.DropStmt.removeType, node.DropStmt.objects, Boolean(node.DropStmt.concurrent));
  if ('RenameStmt' in node) {
    // ALTER INDEX ... RENAME takes SHARE UPDATE EXCLUSIVE since PostgreSQL 12; these take ACCESS EXCLUSIVE.
    const rename = node.RenameStmt;
    if (rename.renameType && ACCESS_EXCLUSIVE_RENAMES.has(rename.renameType)) {
      return [{ table: tableNameOf(rename.relation), mode: 'ACCESS EXCLUSIVE' }];
    }
    return [];
  }
  if ('ReindexStmt' in node) return reindexLocks(statement);
  if ('RefreshMatViewStmt' in node) {
    // CONCURRENTLY still takes EXCLUSIVE: reads go on, writes (there are none to a view) and other refreshes wait.
    const mode = node.RefreshMatViewStmt.concurrent ? 'EXCLUSIVE' : 'ACCESS EXCLUSIVE';
    return [{ table: tableNameOf(node.RefreshMatViewStmt.relation), mode }];
  }
  if ('CreatePolicyStmt' in node)
    return [{ table: tableNameOf(node.CreatePolicyStmt.table), mode: 'ACCESS EXCLUSIVE' }];
  if ('AlterPolicyStmt' in node) return [{ table: tableNameOf(node.AlterPolicyStmt.table), mode: 'ACCESS EXCLUSIVE' }];
  if ('RuleStmt' in node) return [{ table: tableNameOf(node.RuleStmt.relation), mode: 'ACCESS EXCLUSIVE' }];
  if ('AlterObjectSchemaStmt' in node && node.AlterObjectSchemaStmt.relation)
    return [{ table: tableNameOf(node.AlterObjectSchemaStmt.relation), mode: 'ACCESS EXCLUSIVE' }];
  if ('ViewStmt' in node && node.ViewStmt.replace)
    return [{ table: tableNameOf(node.ViewStmt.view), mode: 'ACCESS EXCLUSIVE' }];
  if ('TruncateStmt' in node) return relationsOf(node.TruncateStmt.relations, 'ACCESS EXCLUSIVE');
  if ('LockStmt' in node) return relationsOf(node.LockStmt.relations, lockModeOfNumber(node.LockStmt.mode));
  if ('ClusterStmt' in node) return [{ table: tableNameOf(node.ClusterStmt.relation), mode: 'ACCESS EXCLUSIVE' }];
  if ('VacuumStmt' in node && isVacuumFull(statement)) {
    return (node.VacuumStmt.rels ?? []).flatMap((rel) =>
      'VacuumRelation' in rel
        ? [{ table: tableNameOf(rel.VacuumRelation.relation), mode: 'ACCESS EXCLUSIVE' as const }]
        : [],
    );
  }
  if ('CreateTrigStmt' in node)
    return [{ table: tableNameOf(node.CreateTrigStmt.relation), mode: 'SHARE ROW EXCLUSIVE' }];
  if ('CreateStmt' in node) {
    // A new table's foreign keys lock the tables they reference.
    const references: TableLock[] = [];
    // CREATE TABLE ... PARTITION OF takes ACCESS EXCLUSIVE on the partitioned table (ATTACH PARTITION does not).
    if (node.CreateStmt.partbound) references.push(...relationsOf(node.CreateStmt.inhRelations, 'ACCESS EXCLUSIVE'));
    for (const element of node.CreateStmt.tableElts ?? []) {
      const constraints =
        'Constraint' in element
          ? [element.Constraint]
          : 'ColumnDef' in element
            ? (element.ColumnDef.constraints ?? []).flatMap((c) => ('Constraint' in c ? [c.Constraint] : []))
            : [];
      for (const constraint of constraints) {
        if (constraint.contype === 'CONSTR_FOREIGN')
          references.push({ table: tableNameOf(constraint.pktable), mode: 'SHARE ROW EXCLUSIVE' });
      }
    }
    return references;
  }
  return locks;
}

export function isVacuumFull(statement: MigrationStatement): boolean {
  const node = statement.node;
  if (!('VacuumStmt' in node) || !node.VacuumStmt.is_vacuumcmd) return false;
  for (const option of node.VacuumStmt.options ?? []) {
    if (!('DefElem' in option) || option.DefElem.defname !== 'full') continue;
    const argument = option.DefElem.arg;
    // `VACUUM (FULL false)` is an ordinary vacuum.
    if (argument && 'String' in argument && ['false', 'off', '0'].includes(argument.String.sval ?? '')) return false;
    if (argument && 'Integer' in argument && !argument.Integer.ival) return false;
    return true;
  }
  return false;
}

function relationsOf(relations: Node[] | undefined, mode: LockMode): TableLock[] {
  return (relations ?? []).flatMap((relation) =>
    'RangeVar' in relation ? [{ table: tableNameOf(relation.RangeVar), mode }] : [],
  );
}

const ACCESS_EXCLUSIVE_RENAMES = new Set([
  'OBJECT_TABLE',
  'OBJECT_COLUMN',
  'OBJECT_TABCONSTRAINT',
  'OBJECT_TRIGGER',
  'OBJECT_VIEW',
  'OBJECT_MATVIEW',
  'OBJECT_RULE',
  'OBJECT_POLICY',
]);

/** Relations dropped whole: ACCESS EXCLUSIVE on each. */
const DROPPED_RELATIONS = new Set(['OBJECT_TABLE', 'OBJECT_VIEW', 'OBJECT_MATVIEW', 'OBJECT_FOREIGN_TABLE']);
/** Objects that hang off a table (`name ON table`): dropping one takes ACCESS EXCLUSIVE on the table. */
const DROPPED_FROM_TABLE = new Set(['OBJECT_TRIGGER', 'OBJECT_RULE', 'OBJECT_POLICY']);

/**
 * REINDEX without CONCURRENTLY: SHARE on the table (writes wait) and ACCESS
 * EXCLUSIVE on each index it rebuilds, which blocks every query whose plan
 * would consider that index; the planner looks at all of a table's indexes,
 * so in practice reads of the table wait too. CONCURRENTLY: SHARE UPDATE
 * EXCLUSIVE. A whole schema or database is not one table; the rule for
 * REINDEX reports it.
 */
function reindexLocks(statement: MigrationStatement): TableLock[] {
  const node = statement.node;
  if (!('ReindexStmt' in node)) return [];
  const reindex = node.ReindexStmt;
  const concurrent = reindexIsConcurrent(statement);
  const target = tableNameOf(reindex.relation);
  if (reindex.kind === 'REINDEX_OBJECT_TABLE')
    return [{ table: target, mode: concurrent ? 'SHARE UPDATE EXCLUSIVE' : 'SHARE' }];
  if (reindex.kind === 'REINDEX_OBJECT_INDEX' && target) {
    const index = target.schema ? `${target.schema}.${target.name}` : target.name;
    return [{ table: undefined, index, mode: concurrent ? 'SHARE UPDATE EXCLUSIVE' : 'ACCESS EXCLUSIVE' }];
  }
  return [];
}

export function reindexIsConcurrent(statement: MigrationStatement): boolean {
  const node = statement.node;
  if (!('ReindexStmt' in node)) return false;
  return (node.ReindexStmt.params ?? []).some(
    (param) => 'DefElem' in param && param.DefElem.defname === 'concurrently',
  );
}

function dropLocks(removeType: string | undefined, objects: Node[] | undefined, concurrent: boolean): TableLock[] {
  const names = (objects ?? []).flatMap((object) => ('List' in object ? [stringsOf(object.List.items)] : []));
  if (removeType && DROPPED_FROM_TABLE.has(removeType)) {
    return names.map((parts) => ({ table: qualifiedTable(parts.slice(0, -1)), mode: 'ACCESS EXCLUSIVE' as const }));
  }
  if (removeType && DROPPED_RELATIONS.has(removeType)) {
    return names.map((parts) => ({ table: qualifiedTable(parts), mode: 'ACCESS EXCLUSIVE' as const }));
  }
  if (removeType === 'OBJECT_INDEX') {
    return names.map((parts) => ({
      table: undefined,
      index: parts.join('.'),
      mode: concurrent ? ('SHARE UPDATE EXCLUSIVE' as const) : ('ACCESS EXCLUSIVE' as const),
    }));
  }
  return [];
}

/** `[schema, name]` or `[name]` from a DROP's object list. */
export function qualifiedTable(parts: string[]): TableName {
  const name = parts[parts.length - 1] ?? '';
  const schema = parts.length > 1 ? parts[parts.length - 2] : undefined;
  return schema ? { schema, name } : { name };
}
