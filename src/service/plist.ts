/**
 * XML property lists, the format launchd reads (`man 5 plist`): dict, array, string, integer,
 * boolean. Only what an agent needs; keys are written in the order given.
 */
export type PlistValue = string | number | boolean | PlistValue[] | { [key: string]: PlistValue | undefined };

const HEADER =
  '<?xml version="1.0" encoding="UTF-8"?>\n' +
  '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n' +
  '<plist version="1.0">\n';

export function escapeXml(s: string): string {
  // Characters XML 1.0 cannot carry at all are refused rather than silently dropped.
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/.test(s)) throw new Error(`a property list cannot hold control characters: ${JSON.stringify(s)}`);
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function render(v: PlistValue, indent: string): string {
  const next = `${indent}\t`;
  if (typeof v === 'string') return `${indent}<string>${escapeXml(v)}</string>\n`;
  if (typeof v === 'boolean') return `${indent}<${v}/>\n`;
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new Error(`only whole numbers go in an agent plist (got ${v})`);
    return `${indent}<integer>${v}</integer>\n`;
  }
  if (Array.isArray(v)) {
    return v.length === 0 ? `${indent}<array/>\n` : `${indent}<array>\n${v.map((x) => render(x, next)).join('')}${indent}</array>\n`;
  }
  const entries = Object.entries(v).filter((e): e is [string, PlistValue] => e[1] !== undefined);
  if (entries.length === 0) return `${indent}<dict/>\n`;
  return `${indent}<dict>\n${entries.map(([k, x]) => `${next}<key>${escapeXml(k)}</key>\n${render(x, next)}`).join('')}${indent}</dict>\n`;
}

export function toPlist(root: { [key: string]: PlistValue | undefined }): string {
  return `${HEADER}${render(root, '')}</plist>\n`;
}
