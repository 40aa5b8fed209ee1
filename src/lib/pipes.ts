/**
 * `aider-mlx models --json | head -1`: once the reader has gone, writes to stdout fail with EPIPE.
 * Node raises that as an uncaught error (a stack trace, exit 1). A closed pipe is no error of the
 * command: later writes are dropped and the command finishes with its own exit code.
 */
export function quietOnClosedPipe(stream: NodeJS.WriteStream): void {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE' && err.code !== 'ERR_STREAM_DESTROYED') throw err;
    stream.write = (() => true) as typeof stream.write;
  });
}
