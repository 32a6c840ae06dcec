export interface Check {
  name: string;
  value: string;
  ok: boolean;
}

/** The soak's table: rows are added as the phases finish, so a failure can print what it got to. */
export class Checks {
  readonly rows: Check[] = [];

  add(name: string, value: string, ok: boolean): void {
    this.rows.push({ name, value, ok });
  }

  /** A row that reports and cannot fail. */
  note(name: string, value: string): void {
    this.add(name, value, true);
  }

  get failed(): number {
    return this.rows.filter((r) => !r.ok).length;
  }

  table(): string {
    const width = Math.max(5, ...this.rows.map((r) => r.name.length));
    const valueWidth = Math.max(5, ...this.rows.map((r) => r.value.length));
    const line = (name: string, value: string, ok: string) => `${name.padEnd(width)}  ${value.padEnd(valueWidth)}  ${ok}\n`;
    return line('check', 'value', 'ok') + this.rows.map((r) => line(r.name, r.value, r.ok ? 'yes' : 'NO')).join('');
  }

  markdown(): string[] {
    return ['| check | value | ok |', '|---|---|---|', ...this.rows.map((r) => `| ${r.name} | ${r.value} | ${r.ok ? 'yes' : 'NO'} |`)];
  }

  /** Not the "N passed, N failed" form: that line belongs to the test runner's summary. */
  summary(extraFailures = 0): string {
    const failed = this.failed + extraFailures;
    return `soak checks: ${this.rows.length + extraFailures - failed} ok, ${failed} not ok\n`;
  }
}
