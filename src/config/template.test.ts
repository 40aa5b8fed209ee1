import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { renderJsonTemplate, renderYamlTemplate } from './template.js';

describe('renderYamlTemplate', () => {
  it('keeps types for whole placeholders and interpolates inside strings', () => {
    const out = renderYamlTemplate('a: "{{n}}"\nb: "x-{{n}}-y"\nc: "{{flag}}"\n', { n: 5, flag: true });
    expect(parse(out)).toEqual({ a: 5, b: 'x-5-y', c: true });
  });

  it('drops pairs whose value is undefined and keeps comments', () => {
    const out = renderYamlTemplate('# head\nkeep: 1\n# about gone\ngone: "{{missing}}"\n', {});
    expect(parse(out)).toEqual({ keep: 1 });
    expect(out).toContain('# head');
  });

  it('repeats an _each prototype in a sequence, with the item in scope', () => {
    const out = renderYamlTemplate('list:\n  - _each: items\n    name: "{{name}}"\n    top: "{{top}}"\n', {
      top: 'T',
      items: [{ name: 'a' }, { name: 'b' }],
    });
    expect(parse(out)).toEqual({ list: [{ name: 'a', top: 'T' }, { name: 'b', top: 'T' }] });
  });

  it('an empty list renders an empty sequence', () => {
    expect(parse(renderYamlTemplate('list:\n  - _each: items\n    x: 1\n', { items: [] }))).toEqual({ list: [] });
  });

  it('fails loudly on an interpolated key with no value', () => {
    expect(() => renderYamlTemplate('a: "x-{{nope}}"\n', {})).toThrow(/nope/);
  });
});

describe('renderJsonTemplate', () => {
  it('repeats keyed entries and strips template comments', () => {
    const out = renderJsonTemplate('// c\n{ "{{k}}": { "_each": "xs", "v": "{{v}}" } }', { xs: [{ k: 'a', v: 1 }, { k: 'b', v: 2 }] });
    expect(JSON.parse(out)).toEqual({ a: { v: 1 }, b: { v: 2 } });
  });
});
