-- expect: none
CREATE TABLE ledger_lines (id bigint, amount numeric);
CREATE TRIGGER ledger_lines_audit AFTER INSERT ON ledger_lines
  FOR EACH ROW EXECUTE FUNCTION audit_row();
DROP TRIGGER ledger_lines_audit ON ledger_lines;
