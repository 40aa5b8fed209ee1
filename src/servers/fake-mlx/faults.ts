/** Fault injection: the switches, the loading wait, and the gate every request passes first. */
import type http from 'node:http';
import type { FakeMlxFaults, FakeState } from './state.js';

function releaseWaiters(st: FakeState): void {
  const w = st.readyWaiters;
  st.readyWaiters = [];
  for (const f of w) f();
}

/** Merge fault switches (`false`/`undefined` clears one); `loading` as a number clears itself after that many ms. */
export function setFaults(st: FakeState, f: Partial<FakeMlxFaults>): void {
  st.faults = { ...st.faults, ...f };
  if ('loading' in f) {
    clearTimeout(st.loadingTimer);
    if (typeof f.loading === 'number') {
      st.loadingTimer = setTimeout(() => {
        st.faults = { ...st.faults, loading: false };
        releaseWaiters(st);
      }, f.loading);
    } else if (!f.loading) releaseWaiters(st);
  }
}

/** Resolves once the model has loaded (at once when it is not loading). */
export function untilReady(st: FakeState): Promise<void> {
  return st.faults.loading ? new Promise<void>((r) => st.readyWaiters.push(r)) : Promise.resolve();
}

/** A timer that close() cancels. */
export function sleep(st: FakeState, ms: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const t = setTimeout(() => {
      st.timers.delete(t);
      resolve();
    }, ms);
    st.timers.add(t);
  });
}

/** Whether this request gets an answer at all: a crashed server drops it, `crashAfter` crashes, `hang` holds it. */
export function admit(st: FakeState, server: http.Server, req: http.IncomingMessage): boolean {
  if (st.crashed) {
    req.socket.destroy();
    return false;
  }
  if (st.faults.crashAfter !== undefined && st.served >= st.faults.crashAfter) {
    st.crashed = true;
    server.close();
    for (const s of st.sockets) s.destroy();
    return false;
  }
  st.served++;
  return !st.faults.hang; // a hung request is held open until close()
}

/** Stop every timer and waiter and drop every socket (close()). */
export function clearFaultTimers(st: FakeState): void {
  clearTimeout(st.loadingTimer);
  for (const t of st.timers) clearTimeout(t);
  st.timers.clear();
  st.readyWaiters = [];
}
