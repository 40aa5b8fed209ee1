/**
 * Merge what we render into the files the user already has: Aider's three files and the LiteLLM
 * proxy config. YAML goes through the `yaml` Document API so the user's comments, order and other
 * keys survive. When nothing changes, the existing text comes back byte for byte.
 */
import { isDeepStrictEqual } from 'node:util';
import JSON5 from 'json5';
import {
  type Document,
  LineCounter,
  type Node as YamlNode,
  Pair,
  Scalar,
  type ToStringOptions,
  YAMLMap,
  YAMLSeq,
  isAlias,
  isMap,
  isNode,
  isScalar,
  isSeq,
  parseDocument,
  visit,
} from 'yaml';
import { AppError } from '../errors.js';
import { tildify } from '../lib/paths.js';
import { yamlProblem, yamlReason } from './yaml-error.js';

/** A user's file we cannot parse; nothing gets written over it. */
export class MalformedFileError extends AppError {
  constructor(
    readonly path: string,
    readonly line: number,
    readonly col: number,
    readonly reason: string,
    tryThis = 'Fix or move that file, then run again; nothing was written.',
  ) {
    super(`${tildify(path)} line ${line}, column ${col}: ${reason}`, tryThis);
    this.name = 'MalformedFileError';
  }
}

export interface MergeOptions {
  /**
   * What we wrote before and no longer want: top-level keys (.aider.conf.yml, metadata), entry
   * `name`s (model settings) or `model_name`s (LiteLLM).
   */
  remove?: readonly string[];
}

/** An existing value the merge replaces with a different one. */
export interface Conflict {
  key: string;
  from: unknown;
  to: unknown;
}

export interface MergeResult {
  text: string;
  /** False when `text` is the existing text, unchanged. */
  changed: boolean;
  conflicts: Conflict[];
  /** What `remove` actually removed. */
  removed: string[];
}

/** Heads the keys we append (yaml comment text: no `#`). */
const ADDED_HEADER = ' Added by aider-mlx';

// ---------------------------------------------------------------------------------------------
// .aider.conf.yml

export function mergeAiderConf(
  existing: string | undefined,
  rendered: string,
  path: string,
  opts: MergeOptions = {},
): MergeResult {
  const ours = renderedMap(parseRendered(rendered, path), path);
  if (existing === undefined || isBlank(existing)) return fresh(existing, rendered);

  const run = (nearComments: boolean) => {
    const parsed = parseExisting(existing, path);
    const map = topMap(parsed, 'a map of option: value lines');
    const ctx = newCtx();
    for (const key of opts.remove ?? []) {
      if (ours.items.some((p) => keyOf(p) === key) || indexOfKey(map.items, key) < 0) continue;
      let i: number;
      while ((i = indexOfKey(map.items, key)) >= 0) removePairKeepingComments(parsed.doc, map.items, i, map);
      ctx.removed.push(key);
      ctx.changed = true;
    }
    let appended = false;
    for (const pair of ours.items) {
      const key = keyOf(pair);
      if (key === undefined) continue;
      const i = indexOfKey(map.items, key);
      if (i >= 0) {
        setValue(parsed.doc, map.items[i]!, pair.value, key, ctx);
        continue;
      }
      const added = newPairFrom(pair);
      if (!(nearComments && placeAfterCommentedOut(parsed.doc, map, key, added))) {
        appendWithHeader(parsed.doc, map, added, !appended, existing);
        appended = true;
      }
      ctx.changed = true;
    }
    if (ctx.changed && parsed.doc.contents !== map) parsed.doc.contents = map;
    return { ...ctx, doc: parsed.doc, style: parsed.style, gaps: parsed.gaps };
  };

  const plain = run(false);
  if (!plain.changed) return unchanged(existing);
  const plainText = print(plain);
  const near = run(true);
  const nearText = print(near);
  // Placing keys inside comment blocks is a heuristic: keep it only when it provably lost nothing.
  const text =
    nearText !== plainText && sameData(nearText, plain.doc.toJS()) && commentsKept(existing, nearText) ? nearText : plainText;
  return done(existing, text, plain);
}

// ---------------------------------------------------------------------------------------------
// .aider.model.settings.yml

export function mergeModelSettings(
  existing: string | undefined,
  rendered: string,
  path: string,
  opts: MergeOptions = {},
): MergeResult {
  const ours = renderedSeq(parseRendered(rendered, path).contents, path, 'name');
  if (existing === undefined || isBlank(existing)) return fresh(existing, rendered);
  const parsed = parseExisting(existing, path);
  const seq = topSeq(parsed, 'a list of model settings (- name: ...)');
  const ctx = newCtx();
  mergeEntries(parsed.doc, seq, ours, 'name', opts.remove ?? [], ctx, (name) => name);
  if (!ctx.changed) return unchanged(existing);
  if (parsed.doc.contents !== seq) parsed.doc.contents = seq;
  return done(existing, print(parsed), ctx);
}

// ---------------------------------------------------------------------------------------------
// .aider.model.metadata.json

export function mergeModelMetadata(
  existing: string | undefined,
  rendered: string,
  path: string,
  opts: MergeOptions = {},
): MergeResult {
  const ours = JSON5.parse(rendered) as unknown;
  if (!isPlainObject(ours)) throw new Error(`aider-mlx rendered ${path} as something other than a JSON object`);
  if (existing === undefined || isBlank(existing)) {
    const text = JSON.stringify(ours, null, 2) + '\n';
    return { text, changed: text !== existing, conflicts: [], removed: [] };
  }

  let theirs: unknown;
  try {
    theirs = JSON5.parse(existing);
  } catch (err) {
    const e = err as SyntaxError & { lineNumber?: number; columnNumber?: number };
    const reason = e.message.replace(/^JSON5: /, '').replace(/ at \d+:\d+$/, '');
    throw new MalformedFileError(path, e.lineNumber ?? 1, e.columnNumber ?? 1, reason);
  }
  if (!isPlainObject(theirs)) {
    const at = firstCharPos(existing);
    throw new MalformedFileError(path, at.line, at.col, 'expected a JSON object keyed by model name');
  }

  const ctx = newCtx();
  // Entries, not object assignment: a key named "__proto__" must stay data.
  const entries = new Map(Object.entries(theirs));
  for (const key of opts.remove ?? []) {
    if (Object.hasOwn(ours, key) || !entries.has(key)) continue;
    entries.delete(key);
    ctx.removed.push(key);
    ctx.changed = true;
  }
  for (const [key, value] of Object.entries(ours)) {
    if (entries.has(key)) {
      const from = entries.get(key);
      if (isDeepStrictEqual(from, value)) continue;
      ctx.conflicts.push({ key, from, to: value });
    }
    entries.set(key, value);
    ctx.changed = true;
  }
  if (!ctx.changed) return unchanged(existing);
  return done(existing, JSON.stringify(Object.fromEntries(entries), null, 2) + '\n', ctx);
}

// ---------------------------------------------------------------------------------------------
// LiteLLM proxy config.yaml

export function mergeLitellmConfig(
  existing: string | undefined,
  rendered: string,
  path: string,
  opts: MergeOptions = {},
): MergeResult {
  const ours = renderedMap(parseRendered(rendered, path), path);
  if (existing === undefined || isBlank(existing)) return fresh(existing, rendered);
  const parsed = parseExisting(existing, path);
  const map = topMap(parsed, 'a map with model_list, litellm_settings, ...');
  const ctx = newCtx();

  for (const pair of ours.items) {
    const key = keyOf(pair);
    if (key === undefined) continue;
    const i = indexOfKey(map.items, key);
    if (i < 0) {
      const added = newPairFrom(pair);
      if (map.items.length > 0) added.key.spaceBefore = true;
      map.items.push(added);
      ctx.changed = true;
      continue;
    }
    const target = map.items[i]!;
    if (key === 'model_list') {
      if (isSeq(target.value)) {
        const ourSeq = renderedSeq(pair.value, path, 'model_name', true);
        mergeEntries(parsed.doc, target.value, ourSeq, 'model_name', opts.remove ?? [], ctx, (n) => `model_list: ${n}`);
        continue;
      }
      if (!isEmptyValue(target.value)) throw parsed.malformed(target.value, 'model_list must be a list of models');
    } else if (isMap(pair.value) && isMap(target.value)) {
      // Our settings go in key by key; the user's other keys in that section stay.
      for (const sub of pair.value.items) {
        const subKey = keyOf(sub);
        if (subKey === undefined) continue;
        const j = indexOfKey(target.value.items, subKey);
        if (j >= 0 && key === 'litellm_settings' && subKey === 'callbacks') mergeCallbacks(parsed.doc, target.value.items[j]!, sub.value, ctx);
        else if (j >= 0) setValue(parsed.doc, target.value.items[j]!, sub.value, `${key}.${subKey}`, ctx);
        else {
          target.value.items.push(newPairFrom(sub));
          ctx.changed = true;
        }
      }
      continue;
    }
    setValue(parsed.doc, target, pair.value, key, ctx);
  }
  if (!ctx.changed) return unchanged(existing);
  if (parsed.doc.contents !== map) parsed.doc.contents = map;
  return done(existing, print(parsed), ctx);
}

/**
 * litellm_settings.callbacks is a list (or one name) of the user's own callbacks too: ours join
 * theirs instead of replacing them.
 */
function mergeCallbacks(doc: Document, pair: Pair, ours: unknown, ctx: Ctx): void {
  const theirs = toJs(doc, pair.value);
  const want = toJs(doc, ours);
  const oursList = Array.isArray(want) ? want : [want];
  if (theirs === null || theirs === undefined || theirs === '') return setValue(doc, pair, ours, 'litellm_settings.callbacks', ctx);
  const list = Array.isArray(theirs) ? theirs : [theirs];
  const missing = oursList.filter((c) => !list.some((t) => isDeepStrictEqual(t, c)));
  if (!missing.length) return;
  if (isSeq(pair.value)) {
    for (const c of missing) pair.value.items.push(doc.createNode(c));
  } else {
    const node = doc.createNode([...list, ...missing]);
    if (isNode(pair.value)) node.commentBefore = pair.value.commentBefore;
    pair.value = node;
  }
  ctx.changed = true;
}

/** Callbacks of ours taken out of the user's list (uninstall): what is left, or undefined when nothing is. */
export function callbacksWithout(theirs: unknown, ours: unknown): unknown[] | undefined {
  const oursList = Array.isArray(ours) ? ours : [ours];
  const left = (Array.isArray(theirs) ? theirs : [theirs]).filter((c) => !oursList.some((o) => isDeepStrictEqual(o, c)));
  return left.length ? left : undefined;
}

/** What `uninstall` takes out of the LiteLLM config: only what aider-mlx put there. */
export interface LitellmOwned {
  /** model_name of every model_list entry of ours (all deployments of that name go). */
  models: readonly string[];
  /** `[section, key]` settings of ours, dropped. */
  drop: ReadonlyArray<readonly [string, string]>;
  /** `[section, key, value]`: a setting of the user's that setup replaced, set back to their value. */
  restore: ReadonlyArray<readonly [string, string, unknown]>;
  /** Top-level keys setup added: dropped once nothing is left in them. */
  dropIfEmpty: readonly string[];
}

/**
 * The inverse of mergeLitellmConfig for uninstall: our model entries and settings out, the user's
 * replaced values back, every other model, key and comment of theirs kept where it is.
 */
export function unmergeLitellmConfig(existing: string, path: string, owned: LitellmOwned): MergeResult {
  if (isBlank(existing)) return unchanged(existing);
  const parsed = parseExisting(existing, path);
  const map = topMap(parsed, 'a map with model_list, litellm_settings, ...');
  const ctx = newCtx();
  const at = (key: string) => map.items[indexOfKey(map.items, key)];

  const list = at('model_list')?.value;
  if (isSeq(list)) {
    for (const name of owned.models) {
      const idx = list.items.flatMap((it, i) => (isMap(it) && it.get('model_name') === name ? [i] : []));
      if (idx.length === 0) continue;
      for (const i of idx.reverse()) dropEntryKeepingHeader(parsed.doc, list, i);
      ctx.removed.push(`model_list: ${name}`);
      ctx.changed = true;
    }
  }
  for (const [section, key] of owned.drop) {
    const sec = at(section)?.value;
    if (!isMap(sec)) continue;
    let j: number;
    let hit = false;
    while ((j = indexOfKey(sec.items, key)) >= 0) {
      removePairKeepingComments(parsed.doc, sec.items, j, sec);
      hit = true;
    }
    if (!hit) continue;
    ctx.removed.push(`${section}.${key}`);
    ctx.changed = true;
  }
  for (const [section, key, value] of owned.restore) {
    const sec = at(section)?.value;
    const pair = isMap(sec) ? sec.items[indexOfKey(sec.items, key)] : undefined;
    if (!pair) continue;
    // A list that only lost items of ours (callbacks): take them out in place, its style and comments stay.
    if (isSeq(pair.value) && Array.isArray(value)) {
      const seq = pair.value;
      const keep = seq.items.map((it) => value.some((v) => isDeepStrictEqual(toJs(parsed.doc, it), v)));
      if (keep.filter(Boolean).length === value.length) {
        seq.items = seq.items.filter((_, i) => keep[i]);
        ctx.changed = true;
        continue;
      }
    }
    setValue(parsed.doc, pair, parsed.doc.createNode(value), `${section}.${key}`, ctx);
  }
  for (const key of owned.dropIfEmpty) {
    const i = indexOfKey(map.items, key);
    if (i < 0) continue;
    const v = map.items[i]!.value;
    if (!(isEmptyValue(v) || ((isMap(v) || isSeq(v)) && v.items.length === 0))) continue;
    removePairKeepingComments(parsed.doc, map.items, i, map);
    ctx.changed = true;
  }
  if (!ctx.changed) return unchanged(existing);
  if (parsed.doc.contents !== map) parsed.doc.contents = map;
  return done(existing, print(parsed), ctx);
}

// ---------------------------------------------------------------------------------------------
// Parsing

/**
 * A .aider.conf.yml Aider reads that setup does not merge into (the home one, the git root's, the
 * folder's): refused as the merge refuses the one it writes, for Aider stops on a broken one too.
 */
export function checkAiderConf(existing: string, path: string): void {
  if (isBlank(existing)) return;
  try {
    topMap(parseExisting(existing, path), 'a map of option: value lines');
  } catch (e) {
    if (!(e instanceof MalformedFileError)) throw e;
    throw new MalformedFileError(
      e.path,
      e.line,
      e.col,
      e.reason,
      'Aider reads this file too (the home folder, the git root and the current folder are all read) and stops on it: fix it, or move it aside, then run again; nothing was written.',
    );
  }
}

interface Parsed {
  doc: Document;
  style: ToStringOptions;
  /** Where each inline comment sat in the user's text (see markInlineComments). */
  gaps: Gap[];
  malformed(node: unknown, reason: string): MalformedFileError;
}

function parseExisting(text: string, path: string): Parsed {
  const lineCounter = new LineCounter();
  // Aider reads with PyYAML, which takes duplicate keys (last wins; its own bundled settings have some).
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false });
  const err = doc.errors[0];
  if (err) {
    const { line, col, reason } = yamlProblem(err, lineCounter);
    throw new MalformedFileError(path, line, col, reason);
  }
  const malformed = (node: unknown, reason: string) => {
    const offset = isNode(node) && node.range ? node.range[0] : 0;
    const { line, col } = lineCounter.linePos(offset);
    return new MalformedFileError(path, line, col, reason);
  };
  return { doc, style: styleOf(doc, text, lineCounter), gaps: markInlineComments(doc, text), malformed };
}

/**
 * A user's YAML file changed in place by `edit` (set or delete at key paths), written back in their
 * own style: indentation, and each inline comment at its column. Throws MalformedFileError for a
 * file that does not parse.
 */
export function editUserYaml(text: string, path: string, edit: (doc: Document) => void): string {
  const parsed = parseExisting(text, path);
  edit(parsed.doc);
  return print(parsed);
}

/** The spacing before an inline comment in the user's text: its column and the blanks themselves. */
interface Gap {
  col: number;
  blanks: string;
}

/** Starts a marked inline comment's text: \u0001<index>\u0001 (no YAML text holds a raw \u0001). */
const GAP_MARK = /( ?)#\u0001(\d+)\u0001/g;

/**
 * The yaml package prints every inline comment one space after its value (`model: x # mine`),
 * which collapsed a user's `model: x     # mine` (comments aligned in a column, or after a tab).
 * Each inline comment is marked with where its `#` stood; print() puts it back there.
 */
function markInlineComments(doc: Document, text: string): Gap[] {
  const gaps: Gap[] = [];
  visit(doc, {
    Node(_, node) {
      const comment = node.comment;
      if (!comment || comment.includes('\n') || !node.range) return;
      let hash = node.range[1];
      while (text[hash] === ' ' || text[hash] === '\t') hash++;
      if (text[hash] !== '#') return;
      const eol = text.indexOf('\n', hash);
      const rest = text.slice(hash + 1, eol < 0 ? text.length : eol).replace(/[ \t\r]+$/, '');
      if (rest !== comment.replace(/[ \t]+$/, '')) return;
      let start = hash;
      while (start > 0 && (text[start - 1] === ' ' || text[start - 1] === '\t')) start--;
      const lineStart = text.lastIndexOf('\n', hash - 1) + 1;
      // Only a comment after something on its line: one on a line of its own keeps yaml's placing.
      if (start === hash || start <= lineStart) return;
      node.comment = `\u0001${gaps.length}\u0001${comment}`;
      gaps.push({ col: hash - lineStart, blanks: text.slice(start, hash) });
    },
  });
  return gaps;
}

/**
 * The document as text, each inline comment of the user's back at its column (or, after a tab,
 * behind the same blanks); a value grown past that column leaves one space.
 */
function print(parsed: { doc: Document; style: ToStringOptions; gaps: Gap[] }): string {
  const out = parsed.doc.toString(parsed.style);
  return out.replace(GAP_MARK, (_m, space: string, i: string, at: number) => {
    const gap = parsed.gaps[Number(i)];
    if (!space || !gap) return '#';
    if (gap.blanks.includes('\t')) return `${gap.blanks}#`;
    const col = at - (out.lastIndexOf('\n', at - 1) + 1);
    return `${' '.repeat(Math.max(1, gap.col - col))}#`;
  });
}


function parseRendered(text: string, path: string): Document {
  const doc = parseDocument(text, { prettyErrors: false });
  if (doc.errors[0]) throw new Error(`aider-mlx rendered invalid YAML for ${path}: ${doc.errors[0].message}`);
  return doc;
}

/** Write back in the user's own style where YAML allows a choice. */
function styleOf(doc: Document, text: string, lc: LineCounter): ToStringOptions {
  let indentSeq: boolean | undefined;
  let padding: boolean | undefined;
  visit(doc, {
    Pair(_, pair) {
      const seq = pair.value;
      if (indentSeq !== undefined || !isSeq(seq) || seq.flow || !isScalar(pair.key)) return;
      if (!seq.range || !pair.key.range) return;
      indentSeq = lc.linePos(seq.range[0]).col > lc.linePos(pair.key.range[0]).col;
    },
    Map(_, node) {
      padding ??= flowPadding(node, text);
    },
    Seq(_, node) {
      padding ??= flowPadding(node, text);
    },
  });
  return { lineWidth: 0, indentSeq: indentSeq ?? true, flowCollectionPadding: padding ?? true };
}

function flowPadding(node: YAMLMap | YAMLSeq, text: string): boolean | undefined {
  if (!node.flow || !node.range || node.items.length === 0) return undefined;
  return /\s/.test(text.charAt(node.range[0] + 1));
}

function topMap(parsed: Parsed, expected: string): YAMLMap {
  const c = parsed.doc.contents;
  if (c === null || (isScalar(c) && c.value === null)) return new YAMLMap();
  if (!isMap(c)) throw parsed.malformed(c, `expected ${expected}`);
  return c;
}

function topSeq(parsed: Parsed, expected: string): YAMLSeq {
  const c = parsed.doc.contents;
  if (c === null || (isScalar(c) && c.value === null)) return new YAMLSeq();
  if (!isSeq(c)) throw parsed.malformed(c, `expected ${expected}`);
  return c;
}

function renderedMap(doc: Document, path: string): YAMLMap {
  if (doc.contents === null) return new YAMLMap();
  if (!isMap(doc.contents)) throw new Error(`aider-mlx rendered ${path} as something other than a YAML map`);
  return doc.contents;
}

/** Our entries, grouped by their key field (LiteLLM allows several deployments per model_name). */
function renderedSeq(seq: unknown, path: string, field: string, grouped = false): Map<string, YamlNode[]> {
  const out = new Map<string, YamlNode[]>();
  if (isEmptyValue(seq)) return out;
  if (!isSeq(seq)) throw new Error(`aider-mlx rendered ${path} without a list where one belongs`);
  for (const item of seq.items) {
    const name = isMap(item) ? item.get(field) : undefined;
    if (!isMap(item) || typeof name !== 'string') throw new Error(`aider-mlx rendered an entry without ${field} in ${path}`);
    const group = out.get(name);
    if (group && !grouped) throw new Error(`aider-mlx rendered ${field} ${name} twice in ${path}`);
    if (group) group.push(item);
    else out.set(name, [item]);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Editing

interface Ctx {
  conflicts: Conflict[];
  removed: string[];
  changed: boolean;
}

const newCtx = (): Ctx => ({ conflicts: [], removed: [], changed: false });

function keyOf(pair: Pair): string | undefined {
  return isScalar(pair.key) && pair.key.value !== null ? String(pair.key.value) : undefined;
}

/** The last pair with that key: the one a YAML reader that allows duplicates uses. */
function indexOfKey(items: Pair[], key: string): number {
  return items.findLastIndex((p) => keyOf(p) === key);
}

function toJs(doc: Document, node: unknown): unknown {
  return isNode(node) ? node.toJS(doc) : (node ?? null);
}

function isEmptyValue(node: unknown): boolean {
  return node === null || node === undefined || (isScalar(node) && node.value === null);
}

function cloneNode<T>(node: T): T {
  return isNode(node) ? (node.clone() as T) : node;
}

/** A new pair from ours, with only the comment paragraph right above our key. */
function newPairFrom(pair: Pair): Pair<Scalar, unknown> {
  const key = isScalar(pair.key) ? (pair.key.clone() as Scalar) : new Scalar(pair.key);
  key.commentBefore = lastParagraph(key.commentBefore);
  key.spaceBefore = false;
  return new Pair(key, cloneNode(pair.value));
}

/** Set a value in place: a scalar keeps its node (and so the user's inline comment). */
function setValue(doc: Document, pair: Pair, ours: unknown, key: string, ctx: Ctx): void {
  const old = pair.value;
  const from = toJs(doc, old);
  const to = toJs(doc, ours);
  if (isDeepStrictEqual(from, to)) return;
  if (!isEmptyValue(old)) ctx.conflicts.push({ key, from, to });
  ctx.changed = true;
  if (isScalar(old) && isScalar(ours)) {
    if (typeof old.value !== typeof ours.value || old.value === null) {
      old.type = ours.type;
      old.tag = ours.tag;
    }
    old.value = ours.value;
    old.format = ours.format;
    old.minFractionDigits = ours.minFractionDigits;
    return;
  }
  const node = cloneNode(ours);
  if (isNode(node) && isNode(old)) {
    node.commentBefore = old.commentBefore;
    node.comment = old.comment;
    node.spaceBefore = old.spaceBefore;
    // An alias elsewhere may point here; keep it resolvable.
    if (!isAlias(old) && old.anchor) node.anchor = old.anchor;
  }
  pair.value = node;
}

/**
 * Remove a key but keep the comments above it: in a file built from Aider's sample they are the
 * user's own (`## Use architect edit format…` / `#architect: false`).
 */
function removePairKeepingComments(doc: Document, items: Pair[], i: number, coll?: { comment?: string | null }): void {
  const gone = items[i]!;
  items.splice(i, 1);
  const cb = isNode(gone.key) ? gone.key.commentBefore : undefined;
  if (!cb) return;
  const space = isNode(gone.key) ? gone.key.spaceBefore : false;
  const next = items[i];
  if (next && isNode(next.key)) {
    const nk = next.key;
    nk.commentBefore = nk.commentBefore ? cb + (nk.spaceBefore ? '\n\n' : '\n') + nk.commentBefore : cb + (nk.spaceBefore ? '\n' : '');
    nk.spaceBefore = space;
  } else if (!space && coll && !coll.comment && !doc.comment && items.length) {
    // Right under the key before it (no blank line): the collection's own trailing comment prints
    // there; the document's would get a blank line put before it.
    coll.comment = cb;
  } else {
    doc.comment = doc.comment ? `${cb}\n\n${doc.comment}` : cb;
  }
}

/**
 * Merge entries keyed by `field` into a sequence: ours replace theirs in place (all entries of
 * one name together), new ones are appended, and `remove` drops names we no longer write.
 */
function mergeEntries(
  doc: Document,
  seq: YAMLSeq,
  ours: Map<string, YamlNode[]>,
  field: string,
  remove: readonly string[],
  ctx: Ctx,
  label: (name: string) => string,
): void {
  const nameAt = (i: number) => {
    const item = seq.items[i];
    return isMap(item) ? item.get(field) : undefined;
  };
  const indexesOf = (name: string) => seq.items.flatMap((_, i) => (nameAt(i) === name ? [i] : []));
  const spaced = seq.items.some((it, i) => i > 0 && isNode(it) && it.spaceBefore);

  for (const name of remove) {
    if (ours.has(name)) continue;
    const idx = indexesOf(name);
    if (idx.length === 0) continue;
    for (const i of idx.reverse()) dropEntryKeepingHeader(doc, seq, i);
    ctx.removed.push(name);
    ctx.changed = true;
  }

  for (const [name, nodes] of ours) {
    const idx = indexesOf(name);
    const copies = nodes.map((n) => cloneNode(n));
    if (idx.length === 0) {
      copies.forEach((n, k) => {
        if (k === 0) n.commentBefore = lastParagraph(n.commentBefore);
        n.spaceBefore = spaced && seq.items.length > 0;
      });
      seq.items.push(...copies);
      ctx.changed = true;
      continue;
    }
    const from = idx.map((i) => toJs(doc, seq.items[i]));
    const to = nodes.map((n) => toJs(doc, n));
    if (isDeepStrictEqual(from, to)) continue;
    ctx.conflicts.push({ key: label(name), from: from.length === 1 ? from[0] : from, to: to.length === 1 ? to[0] : to });
    ctx.changed = true;
    const first = seq.items[idx[0]!];
    for (const i of [...idx].reverse()) seq.items.splice(i, 1);
    // The replacement keeps the comments and spacing the user had around the old entry.
    copies.forEach((n, k) => {
      n.commentBefore = k === 0 && isNode(first) ? first.commentBefore : undefined;
      n.spaceBefore = k === 0 && isNode(first) ? first.spaceBefore : spaced;
      if (k === 0 && isNode(first)) n.comment = first.comment;
    });
    seq.items.splice(idx[0]!, 0, ...copies);
  }
}

/**
 * Drop an entry we wrote, with the comment paragraph right above it (ours); anything earlier in
 * that comment (a file header, say) moves to the next entry.
 */
function dropEntryKeepingHeader(doc: Document, seq: YAMLSeq, i: number): void {
  const gone = seq.items[i];
  seq.items.splice(i, 1);
  if (!isNode(gone) || !gone.commentBefore) return;
  const lines = gone.commentBefore.split('\n');
  const lastBlank = lines.lastIndexOf('');
  if (lastBlank < 0) return;
  const keep = trimBlank(lines.slice(0, lastBlank)).text;
  if (!keep) return;
  const next = seq.items[i];
  if (isNode(next)) {
    next.commentBefore = next.commentBefore ? `${keep}\n\n${next.commentBefore}` : `${keep}\n`;
    next.spaceBefore = gone.spaceBefore;
  } else {
    doc.comment = doc.comment ? `${keep}\n\n${doc.comment}` : keep;
  }
}

/**
 * Put a new key right after a commented-out line for it (`#model: xxx` in Aider's sample).
 * Comments before a key live on that key's `commentBefore` (or the document's, or the trailing
 * comment), so the block is split there and the new pair goes in between.
 */
function placeAfterCommentedOut(doc: Document, map: YAMLMap, key: string, added: Pair<Scalar, unknown>): boolean {
  const re = new RegExp(`^\\s*${escapeRegExp(key)}\\s*:(\\s|$)`);
  const ourComment = added.key.commentBefore;
  const insert = (at: number, before: string, space: boolean) => {
    added.key.commentBefore = ourComment ? `${before}\n${ourComment}` : before;
    added.key.spaceBefore = space;
    map.items.splice(at, 0, added);
  };

  const head = split(doc.commentBefore, re);
  if (head) {
    doc.commentBefore = null;
    const first = map.items[0];
    insert(0, head.before, false);
    if (head.after.text) {
      if (first && isNode(first.key)) {
        const fk = first.key;
        fk.commentBefore = fk.commentBefore ? `${head.after.text}\n\n${fk.commentBefore}` : `${head.after.text}\n`;
        fk.spaceBefore = head.after.space;
      } else {
        doc.comment = doc.comment ? `${head.after.text}\n\n${doc.comment}` : head.after.text;
      }
    } else if (first && isNode(first.key)) {
      first.key.spaceBefore = true;
    }
    return true;
  }

  for (let i = 0; i < map.items.length; i++) {
    const k = map.items[i]!.key;
    if (!isNode(k)) continue;
    const hit = split(k.commentBefore, re);
    if (!hit) continue;
    insert(i, hit.before, k.spaceBefore ?? false);
    k.commentBefore = hit.after.text;
    k.spaceBefore = hit.after.space;
    return true;
  }

  for (const holder of ['map', 'doc'] as const) {
    const hit = split(holder === 'map' ? map.comment : doc.comment, re);
    if (!hit) continue;
    // The document's trailing comment always prints after a blank line; keep that look.
    insert(map.items.length, hit.before, holder === 'doc' && map.items.length > 0);
    if (holder === 'map') map.comment = hit.after.text;
    else doc.comment = hit.after.text ?? null;
    return true;
  }
  return false;
}

/** Append at the end (after any trailing comments), the first one under a header. */
function appendWithHeader(doc: Document, map: YAMLMap, added: Pair<Scalar, unknown>, first: boolean, text?: string): void {
  const parts: string[] = [];
  // The user's comment lines right under their last key (no blank line between) stay right under it.
  const tight = first && (map.comment || doc.comment) && text !== undefined && trailingCommentIsTight(map, text);
  if (first) {
    for (const trailing of [map.comment, doc.comment]) if (trailing) parts.push(trailing);
    map.comment = null;
    doc.comment = null;
    parts.push(added.key.commentBefore ? `${ADDED_HEADER}\n${added.key.commentBefore}` : ADDED_HEADER);
  } else if (added.key.commentBefore) {
    parts.push(added.key.commentBefore);
  }
  added.key.commentBefore = parts.length ? parts.join('\n\n') : undefined;
  added.key.spaceBefore = first && (map.items.length > 0 || parts.length > 1);
  if (first && map.items.length === 0 && doc.commentBefore) added.key.spaceBefore = false;
  if (tight) added.key.spaceBefore = false;
  map.items.push(added);
}

/** The line after the map's last key (and its value) is a comment: no blank line between them. */
function trailingCommentIsTight(map: YAMLMap, text: string): boolean {
  const last = map.items[map.items.length - 1];
  const node = (last?.value ?? last?.key) as { range?: [number, number, number] } | null | undefined;
  if (!node?.range) return false;
  const eol = text.indexOf('\n', node.range[1]);
  if (eol < 0) return false;
  return /^[ \t]*#/.test(text.slice(eol + 1));
}

function split(
  comment: string | null | undefined,
  re: RegExp,
): { before: string; after: { text: string | undefined; space: boolean } } | undefined {
  if (!comment) return undefined;
  const lines = comment.split('\n');
  const i = lines.findIndex((l) => re.test(l));
  if (i < 0) return undefined;
  return { before: lines.slice(0, i + 1).join('\n'), after: trimBlank(lines.slice(i + 1)) };
}

/** In a yaml comment string an empty line is a blank line (a bare `#` is a single space). */
function trimBlank(lines: string[]): { text: string | undefined; space: boolean } {
  let start = 0;
  while (start < lines.length && lines[start] === '') start++;
  let end = lines.length;
  while (end > start && lines[end - 1] === '') end--;
  return { text: end > start ? lines.slice(start, end).join('\n') : undefined, space: start > 0 };
}

function lastParagraph(comment: string | null | undefined): string | undefined {
  if (!comment) return undefined;
  const lines = comment.split('\n');
  return trimBlank(lines.slice(lines.lastIndexOf('') + 1)).text;
}

// ---------------------------------------------------------------------------------------------
// Checks and small helpers

function sameData(text: string, expected: unknown): boolean {
  const doc = parseDocument(text, { prettyErrors: false });
  return doc.errors.length === 0 && isDeepStrictEqual(doc.toJS(), expected);
}

/** Every comment line of the original is still there, in the same order. */
function commentsKept(original: string, text: string): boolean {
  const comments = (s: string) =>
    s
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l.startsWith('#'));
  const want = comments(original);
  const have = comments(text);
  let j = 0;
  for (const line of have) if (j < want.length && line === want[j]) j++;
  return j === want.length;
}

function isBlank(text: string): boolean {
  return text.trim() === '';
}

function fresh(existing: string | undefined, rendered: string): MergeResult {
  return { text: rendered, changed: rendered !== existing, conflicts: [], removed: [] };
}

function unchanged(existing: string): MergeResult {
  return { text: existing, changed: false, conflicts: [], removed: [] };
}

function done(existing: string, output: string, ctx: Ctx): MergeResult {
  // Keep Windows line endings if the user's file has them.
  const text = existing.includes('\r\n') ? output.replace(/\r?\n/g, '\r\n') : output;
  return { text, changed: text !== existing, conflicts: ctx.conflicts, removed: ctx.removed };
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function firstCharPos(text: string): { line: number; col: number } {
  const offset = text.search(/\S/);
  const before = text.slice(0, Math.max(0, offset)).split('\n');
  return { line: before.length, col: before[before.length - 1]!.length + 1 };
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
