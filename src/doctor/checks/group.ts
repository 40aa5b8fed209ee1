/**
 * A group (one model over several ranks), hop by hop: can the model be split that way (its files
 * here), is each other Mac reachable over ssh with the same mlx and mlx-lm and the model's files
 * (--deep: it runs commands), and is rank 0 healthy (503: a rank is gone). The server chain checks rank 0's HTTP as
 * for any server.
 *
 * Its helpers (serve/group.ts, setup/split.ts, config/group.ts) bring execa and zod with them: they
 * are loaded here, when a plan has a group, not by every doctor run.
 */
import type { ServedModel } from '../../config/names.js';
import type { Deployment, Group } from '../../config/plan.js';
import { which } from '../../lib/which.js';
import { probeHealth, rootUrl } from '../../servers/probe.js';
import { skipped, type DoctorCaps, type DoctorCheck, type DoctorOptions } from '../types.js';

export async function groupChecks(m: ServedModel, d: Deployment & { group: Group }, label: string, opts: DoctorOptions, caps: DoctorCaps): Promise<DoctorCheck[]> {
  const g = d.group;
  const n = g.hosts.length;
  const base = `group.${label}`;
  const out: DoctorCheck[] = [];

  const [{ groupParallel }, { groupIsLocal }] = await Promise.all([import('../../serve/group.js'), import('../../config/group.js')]);
  const choice = await groupParallel(m.model, g, caps.env);
  out.push(
    choice.ok
      ? { id: `${base}.split`, group: 'server', title: `${label}: ${m.model} over ${n} ranks — ${choice.note}`, status: /not on this Mac to check/.test(choice.note) ? 'warn' : 'pass',
          ...(/not on this Mac/.test(choice.note) ? { observed: choice.note, fix: `Download the model on this Mac too (\`aider-mlx models pull ${m.model}\`) to check the split.` } : {}) }
      : { id: `${base}.split`, group: 'server', title: `${label}: ${m.model} cannot be split over ${n} ranks`, status: 'fail', observed: choice.problem,
          fix: 'Change parallel or the number of hosts of the group in plan.yaml (see docs/distributed.md).' },
  );

  // Each other Mac: ssh, the same mlx / mlx-lm (mlx.launch runs the same command on every rank),
  // and the model's files on its own disk. The same checks as the wizard's "split it across Macs".
  if (!groupIsLocal(g)) {
    const server = which('mlx_lm.server', caps.env);
    if (!opts.deep || !caps.exec || !server) {
      for (const h of g.hosts) out.push(skipped({ id: `${base}.host.${h.ssh}`, group: 'server', title: `${label}: rank on ${h.ssh}` }, !server ? 'mlx_lm.server is not installed here' : 'runs ssh: use --deep'));
    } else {
      const { checkHosts } = await import('../../setup/split.js');
      const r = await checkHosts({ group: g, model: m.model, env: caps.env, exec: caps.exec, timeoutMs: opts.timeoutMs, id: base });
      out.push(...r.checks.map((c): DoctorCheck => ({ ...c, group: 'server', title: `${label}: ${c.title}` })));
    }
  }

  const h = await probeHealth(rootUrl(d.host, d.port), { timeoutMs: opts.timeoutMs, ...(caps.signal ? { signal: caps.signal } : {}) });
  const hid = `${base}.ranks`;
  const htitle = `${label}: every rank of the group up (rank 0's /health)`;
  if (h.status === 503) {
    out.push({ id: hid, group: 'server', title: htitle, status: 'fail', observed: 'rank 0 answers 503 on /health: a rank of the group is gone, so no completion can be generated',
      fix: 'Restart the whole group: `aider-mlx serve` does it by itself; otherwise stop every rank and start serve again.' });
  } else if (h.status === 200) {
    out.push({ id: hid, group: 'server', title: htitle, status: 'pass' });
  } else {
    out.push(skipped({ id: hid, group: 'server', title: htitle }, h.status === undefined ? 'rank 0 is not answering (see its server check)' : `rank 0 answered HTTP ${h.status}`));
  }
  return out;
}
