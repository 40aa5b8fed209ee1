/** Byte-level imitations of the Python stdlib the real server leans on (json, logging, http.server). */

/** Python's json.dumps defaults (", " and ": " separators, ASCII only), so body bytes match. */
export function pyJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') {
    return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  }
  if (typeof value === 'number' || typeof value === 'boolean') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(pyJson).join(', ')}]`;
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  return `{${entries.map(([k, v]) => `${pyJson(k)}: ${pyJson(v)}`).join(', ')}}`;
}

/** Python's BaseHTTPRequestHandler.log_date_time_string: "25/Nov/2026 10:00:00". */
export function logDate(d = new Date()): string {
  const mon = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][d.getMonth()];
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getDate())}/${mon}/${d.getFullYear()} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** Python logging's asctime: "2026-11-25 10:00:00,123". */
export function asctime(d = new Date()): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())},${p(d.getMilliseconds(), 3)}`;
}

export function pyTypeName(v: unknown): string {
  if (Array.isArray(v)) return "<class 'list'>";
  if (v === null) return "<class 'NoneType'>";
  if (typeof v === 'string') return "<class 'str'>";
  if (typeof v === 'boolean') return "<class 'bool'>";
  if (typeof v === 'number') return Number.isInteger(v) ? "<class 'int'>" : "<class 'float'>";
  return "<class 'dict'>";
}

/** Roughly Python's JSONDecodeError text, e.g. "Expecting value: line 1 column 1 (char 0)". */
export function pythonJsonError(raw: string, err: Error): string {
  const lead = raw.length - raw.trimStart().length;
  if (raw.trimStart().startsWith('{')) {
    const pos = Number(/position (\d+)/.exec(err.message)?.[1] ?? lead + 1);
    const before = raw.slice(0, pos);
    const col = pos - before.lastIndexOf('\n');
    return `Expecting property name enclosed in double quotes: line ${before.split('\n').length} column ${col} (char ${pos})`;
  }
  const before = raw.slice(0, lead);
  return `Expecting value: line ${before.split('\n').length} column ${lead - before.lastIndexOf('\n')} (char ${lead})`;
}
