/** Ports for stacks a test starts itself (`rollout dev` in a child process). */
import { once } from 'node:events';
import { connect, createServer } from 'node:net';

/** A free port whose port + 1000 (the dev server's Web UI) is free too. */
export async function freePortWithUi(): Promise<number> {
  for (;;) {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    await new Promise((resolve) => server.close(resolve));
    if (port + 1000 <= 65535 && !(await listening(port + 1000))) return port;
  }
}

/** Whether something accepts connections on the port. */
export async function listening(port: number): Promise<boolean> {
  const socket = connect(port, '127.0.0.1');
  try {
    await once(socket, 'connect');
    return true;
  } catch {
    return false;
  } finally {
    socket.destroy();
  }
}
