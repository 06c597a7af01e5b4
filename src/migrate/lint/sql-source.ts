/**
 * A migration file's text with the two kinds of offsets PostgreSQL reports
 * turned into editor positions. The parser and the scanner report byte
 * offsets into the UTF-8 text; a parse error reports a character (code point)
 * offset. Editors, SARIF viewers and humans want a 1-based line and a 1-based
 * column counted in characters, so a `é` before a statement must not push its
 * column by one.
 */
export interface SourcePosition {
  /** 1-based. */
  line: number;
  /** 1-based, in Unicode code points (SARIF's `unicodeCodePoints` column kind). */
  column: number;
}

const BYTE_ORDER_MARK = '\uFEFF';

export class SqlSource {
  readonly text: string;
  readonly bytes: Buffer;
  /** Byte offset at which each line starts; lineStarts[0] is 0. */
  private readonly lineStarts: number[];

  constructor(text: string) {
    // An editor does not count the byte order mark as a column and the parser rejects it.
    this.text = text.startsWith(BYTE_ORDER_MARK) ? text.slice(1) : text;
    this.bytes = Buffer.from(this.text, 'utf8');
    this.lineStarts = [0];
    for (let i = 0; i < this.bytes.length; i++) {
      if (this.bytes[i] === 0x0a) this.lineStarts.push(i + 1);
    }
  }

  get byteLength(): number {
    return this.bytes.length;
  }

  positionAtByte(byteOffset: number): SourcePosition {
    const offset = Math.max(0, Math.min(byteOffset, this.bytes.length));
    let low = 0;
    let high = this.lineStarts.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if ((this.lineStarts[middle] ?? 0) <= offset) low = middle;
      else high = middle - 1;
    }
    const lineStart = this.lineStarts[low] ?? 0;
    return { line: low + 1, column: countCodePoints(this.bytes, lineStart, offset) + 1 };
  }

  /** For parse errors: PostgreSQL's cursor position counts characters, from 0. */
  positionAtCharacter(characterOffset: number): SourcePosition {
    return this.positionAtByte(this.byteOffsetOfCharacter(characterOffset));
  }

  byteOffsetOfCharacter(characterOffset: number): number {
    let characters = 0;
    for (let i = 0; i < this.bytes.length; i++) {
      if (isContinuationByte(this.bytes[i] ?? 0)) continue;
      if (characters === characterOffset) return i;
      characters++;
    }
    return this.bytes.length;
  }

  slice(startByte: number, endByte: number): string {
    return this.bytes.subarray(startByte, endByte).toString('utf8');
  }
}

/** UTF-8 continuation bytes are 10xxxxxx; every other byte starts a code point. */
function isContinuationByte(byte: number): boolean {
  return (byte & 0xc0) === 0x80;
}

function countCodePoints(bytes: Buffer, start: number, end: number): number {
  let count = 0;
  for (let i = start; i < end; i++) {
    if (!isContinuationByte(bytes[i] ?? 0)) count++;
  }
  return count;
}
