import type { AlterTableCmd, ColumnDef, Constraint, Node } from 'libpg-query';
import type { MigrationStatement } from './parsed-migration.js';
import { tableNameOf, type TableName } from './sql-names.js';

/**
 * The pieces of a parse tree the rules look at, taken apart once here so each
 * rule reads as "for every added column ..." rather than as tree walking.
 */
export interface TableCommand {
  table: TableName | undefined;
  command: AlterTableCmd;
}

/** The sub-commands of an `ALTER TABLE` (not of ALTER INDEX, VIEW or TYPE). */
export function alterTableCommands(statement: MigrationStatement): TableCommand[] {
  const node = statement.node;
  if (!('AlterTableStmt' in node)) return [];
  const alter = node.AlterTableStmt;
  if (alter.objtype !== undefined && alter.objtype !== 'OBJECT_TABLE') return [];
  const table = tableNameOf(alter.relation);
  const commands: TableCommand[] = [];
  for (const cmd of alter.cmds ?? []) {
    if ('AlterTableCmd' in cmd) commands.push({ table, command: cmd.AlterTableCmd });
  }
  return commands;
}

export function addedColumn(command: AlterTableCmd): ColumnDef | undefined {
  if (command.subtype !== 'AT_AddColumn' || !command.def || !('ColumnDef' in command.def)) return undefined;
  return command.def.ColumnDef;
}

export function addedConstraint(command: AlterTableCmd): Constraint | undefined {
  if (command.subtype !== 'AT_AddConstraint' || !command.def || !('Constraint' in command.def)) return undefined;
  return command.def.Constraint;
}

export function columnConstraints(column: ColumnDef): Constraint[] {
  const constraints: Constraint[] = [];
  for (const node of column.constraints ?? []) {
    if ('Constraint' in node) constraints.push(node.Constraint);
  }
  return constraints;
}

/** Every table constraint of a statement: those added by ALTER TABLE and those written inline on an added column. */
export interface AddedConstraint {
  table: TableName | undefined;
  constraint: Constraint;
  /** Set when the constraint is written on an added column (`ADD COLUMN x int REFERENCES ...`). */
  column?: string;
}

export function addedConstraints(statement: MigrationStatement): AddedConstraint[] {
  const found: AddedConstraint[] = [];
  for (const { table, command } of alterTableCommands(statement)) {
    const constraint = addedConstraint(command);
    if (constraint) found.push({ table, constraint });
    const column = addedColumn(command);
    for (const inline of column ? columnConstraints(column) : [])
      found.push({ table, constraint: inline, column: column?.colname });
  }
  return found;
}

/** The last part of a qualified name: `pg_catalog.int8` → `int8`, `public.gen_random_uuid` → `gen_random_uuid`. */
export function lastName(names: string[]): string {
  return names[names.length - 1] ?? '';
}

/** Every function called anywhere inside an expression, by its unqualified name. */
export function functionsCalledIn(node: Node | undefined): string[] {
  const names: string[] = [];
  visit(node, (value) => {
    if ('FuncCall' in value) {
      const parts: string[] = [];
      for (const part of value.FuncCall.funcname ?? [])
        if ('String' in part && part.String.sval) parts.push(part.String.sval);
      names.push(lastName(parts));
    }
  });
  return names;
}

/** Depth-first over a parse tree; the JSON form of libpg-query's tree is plain objects and arrays. */
function visit(value: unknown, onNode: (node: Node) => void): void {
  if (Array.isArray(value)) {
    for (const item of value) visit(item, onNode);
    return;
  }
  if (value === null || typeof value !== 'object') return;
  onNode(value as Node);
  for (const child of Object.values(value)) visit(child, onNode);
}

/** The body of a PL/pgSQL DO block, or undefined for another language. */
export function doBlockBody(statement: MigrationStatement): string | undefined {
  const node = statement.node;
  if (!('DoStmt' in node)) return undefined;
  let body: string | undefined;
  let language = 'plpgsql';
  for (const arg of node.DoStmt.args ?? []) {
    if (!('DefElem' in arg) || !arg.DefElem.arg || !('String' in arg.DefElem.arg)) continue;
    if (arg.DefElem.defname === 'as') body = arg.DefElem.arg.String.sval;
    if (arg.DefElem.defname === 'language') language = (arg.DefElem.arg.String.sval ?? '').toLowerCase();
  }
  return language === 'plpgsql' ? body : undefined;
}
