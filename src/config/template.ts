import JSON5 from 'json5';
import { Document, isMap, isPair, isScalar, isSeq, parseDocument, Scalar, YAMLMap, YAMLSeq, type Node } from 'yaml';

/**
 * Templates are real config files with comments (templates/*). Three rules, nothing more:
 * - a scalar that is exactly `{{ key }}` takes the context value with its type (number, bool, map);
 * - `{{ key }}` inside a longer string is interpolated;
 * - a map holding `_each: list` is a prototype: repeated once per item of `list`, with the item's
 *   keys in scope (as a sequence item, or as the value of a pair whose key is a placeholder).
 * A pair whose value renders to undefined is dropped, so optional keys vanish cleanly.
 */
export type Ctx = Record<string, unknown>;

const WHOLE = /^\{\{\s*([\w.]+)\s*\}\}$/;
const PART = /\{\{\s*([\w.]+)\s*\}\}/g;
const EACH = '_each';

function lookup(scopes: Ctx[], path: string): unknown {
  for (let i = scopes.length - 1; i >= 0; i--) {
    let cur: unknown = scopes[i];
    let found = true;
    for (const part of path.split('.')) {
      if (cur !== null && typeof cur === 'object' && part in (cur as Ctx)) cur = (cur as Ctx)[part];
      else {
        found = false;
        break;
      }
    }
    if (found) return cur;
  }
  return undefined;
}

function renderString(s: string, scopes: Ctx[]): { value: unknown; whole: boolean } {
  const whole = s.match(WHOLE);
  if (whole) return { value: lookup(scopes, whole[1]!), whole: true };
  if (!s.includes('{{')) return { value: s, whole: false };
  return {
    value: s.replace(PART, (_m, key: string) => {
      const v = lookup(scopes, key);
      if (v === undefined) throw new Error(`template: no value for {{${key}}}`);
      return String(v);
    }),
    whole: false,
  };
}

const UNDEFINED = Symbol('undefined');

function renderNode(doc: Document, node: unknown, scopes: Ctx[]): unknown {
  if (isScalar(node)) {
    if (typeof node.value !== 'string') return node;
    const { value, whole } = renderString(node.value, scopes);
    if (value === undefined) return UNDEFINED;
    if (whole && (typeof value !== 'string' || value !== node.value)) {
      if (value !== null && typeof value === 'object') return doc.createNode(value);
      const out = new Scalar(value);
      out.comment = node.comment;
      out.commentBefore = node.commentBefore;
      out.spaceBefore = node.spaceBefore;
      return out;
    }
    node.value = value;
    return node;
  }
  if (isSeq(node)) {
    const items: unknown[] = [];
    for (const item of node.items) {
      const each = isMap(item) ? eachList(item, scopes) : undefined;
      if (each && isMap(item)) {
        each.list.forEach((entry, i) => {
          const copy = item.clone() as YAMLMap;
          copy.delete(EACH);
          if (i > 0) copy.commentBefore = undefined;
          items.push(renderNode(doc, copy, [...scopes, entry as Ctx]));
        });
      } else {
        const r = renderNode(doc, item, scopes);
        if (r !== UNDEFINED) items.push(r);
      }
    }
    node.items = items;
    return node;
  }
  if (isMap(node)) {
    const pairs: unknown[] = [];
    for (const pair of node.items) {
      if (!isPair(pair)) continue;
      const each = isMap(pair.value) ? eachList(pair.value, scopes) : undefined;
      if (each) {
        each.list.forEach((entry) => {
          const copy = pair.clone();
          (copy.value as YAMLMap).delete(EACH);
          const inner = [...scopes, entry as Ctx];
          copy.key = renderNode(doc, copy.key, inner) as Node;
          copy.value = renderNode(doc, copy.value, inner) as Node;
          pairs.push(copy);
        });
        continue;
      }
      const value = renderNode(doc, pair.value, scopes);
      if (value === UNDEFINED) continue;
      pair.value = value as Node;
      pairs.push(pair);
    }
    node.items = pairs as YAMLMap['items'];
    return node;
  }
  return node;
}

function eachList(map: YAMLMap, scopes: Ctx[]): { list: unknown[] } | undefined {
  const name = map.get(EACH);
  if (typeof name !== 'string') return undefined;
  const list = lookup(scopes, name);
  if (!Array.isArray(list)) throw new Error(`template: _each: ${name} is not a list in the context`);
  return { list };
}

/** Render a YAML template, keeping its comments. */
export function renderYamlTemplate(source: string, ctx: Ctx): string {
  const doc = parseDocument(source);
  if (doc.errors.length) throw new Error(`template: ${doc.errors[0]!.message}`);
  doc.contents = renderNode(doc, doc.contents, [ctx]) as typeof doc.contents;
  // Every scalar is rendered by now: what is left in braces sits in comments.
  return doc.toString({ lineWidth: 0 }).replace(PART, (m, key: string) => {
    const v = lookup([ctx], key);
    return v === undefined || (typeof v === 'object' && v !== null) ? m : String(v);
  });
}

/** Render a JSON5 template (comments allowed in the template) to plain JSON. */
export function renderJsonTemplate(source: string, ctx: Ctx): string {
  const doc = new Document(JSON5.parse(source));
  doc.contents = renderNode(doc, doc.contents, [ctx]) as typeof doc.contents;
  return JSON.stringify(doc.toJS(), null, 2) + '\n';
}

export type { YAMLSeq };
