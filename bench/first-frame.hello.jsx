// The baseline of bench/first-frame.mjs: the smallest Ink app, bundled like the CLI.
import { render, Text } from 'ink';

const app = render(<Text>Hello from Ink</Text>);
setTimeout(() => app.unmount(), 50);
