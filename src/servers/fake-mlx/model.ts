/** The deterministic "model": what the stand-in answers, token by token. */

const FILLER = 'The quick brown fox jumps over the lazy dog while the patient model keeps on writing.'.split(' ');
const THINKING = 'Okay, the user wants an answer. Let me think about what they asked and keep it short.'.split(' ');
const LONG_REQUEST = /\b(long|essay|story|detailed|verbose|at least \d+|\d{3,}\s+words|count (up )?to|as many)\b/i;

export function words(s: string): string[] {
  return s.split(/\s+/).filter(Boolean);
}

/** The whole answer the stand-in would give with no token limit, as words. */
function naturalAnswer(prompt: string, model: string): string[] {
  const single = /single word[:\s]+["'`]?([\w-]+)/i.exec(prompt);
  if (single) return [single[1]!];
  if (/\bping\b/i.test(prompt)) return ['pong'];
  if (LONG_REQUEST.test(prompt)) return Array.from({ length: 4096 }, (_, i) => FILLER[i % FILLER.length]!);
  return ['This', 'is', 'the', 'aider-mlx', 'stand-in', 'for', `${model}.`, 'You', 'said:', ...words(prompt).slice(0, 12)];
}

/** Word tokens with the leading space a BPE tokenizer would give them. */
function asTokens(ws: string[]): string[] {
  return ws.map((w, i) => (i === 0 ? w : ` ${w}`));
}

export function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content.map((p) => (p && typeof p === 'object' && 'text' in p ? String((p as { text: unknown }).text) : '')).join('');
  }
  return content == null ? '' : String(content);
}

export interface Generated {
  /** Per token: which channel its text goes to. */
  tokens: Array<{ text: string; channel: 'content' | 'reasoning' | 'control' }>;
  finishReason: 'stop' | 'length';
}

export function generate(opts: {
  prompt: string;
  model: string;
  maxTokens: number;
  stop: string[];
  reasoning: 'field' | 'tags' | undefined;
  noChatTemplate: boolean;
}): Generated {
  let answer = naturalAnswer(opts.prompt, opts.model);
  if (opts.noChatTemplate) {
    // Without a template the model continues the transcript instead of answering once.
    answer = [...answer, '\nUSER:', ...words(opts.prompt).slice(0, 6), '\nASSISTANT:', ...answer];
  }
  const all: Generated['tokens'] = [];
  if (opts.reasoning) {
    const control = opts.reasoning === 'field' ? 'control' : 'content';
    const think = opts.reasoning === 'field' ? 'reasoning' : 'content';
    all.push({ text: '<think>', channel: control });
    all.push({ text: '\n', channel: think });
    for (const t of asTokens(THINKING)) all.push({ text: t, channel: think });
    all.push({ text: '</think>', channel: control });
    all.push({ text: '\n\n', channel: 'content' });
  }
  for (const t of asTokens(answer)) all.push({ text: t, channel: 'content' });

  const out: Generated['tokens'] = [];
  let content = '';
  for (const tok of all) {
    if (out.length >= opts.maxTokens) return { tokens: out, finishReason: 'length' };
    if (tok.channel === 'content') {
      const next = content + tok.text;
      const hit = opts.stop.map((s) => (s ? next.indexOf(s) : -1)).filter((i) => i >= 0);
      if (hit.length) {
        const cut = Math.min(...hit) - content.length;
        if (cut > 0) out.push({ text: tok.text.slice(0, cut), channel: 'content' });
        return { tokens: out, finishReason: 'stop' };
      }
      content = next;
    }
    out.push(tok);
  }
  // The end-of-sequence token is generated (and counted) too: a reply that fills max_tokens exactly is "length".
  if (out.length >= opts.maxTokens) return { tokens: out, finishReason: 'length' };
  out.push({ text: '', channel: 'control' });
  return { tokens: out, finishReason: 'stop' };
}
