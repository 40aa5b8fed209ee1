import { execFileSync } from 'node:child_process';

// e2e tests spawn the built CLI: make sure dist/ is current before any test runs.
export default function setup() {
  execFileSync(process.execPath, ['scripts/bootstrap.mjs'], { stdio: 'inherit' });
}
