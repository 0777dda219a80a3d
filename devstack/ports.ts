/** Ports for a local stack: free ones to start on, and whether something already listens on one. */
import { once } from 'node:events';
import { connect, createServer } from 'node:net';

/** The Temporal dev server serves its Web UI on the frontend port + 1000. */
export const UI_PORT_OFFSET = 1000;

/** A port nothing listens on (`port` itself, or any free one for 0); rejects if `port` is taken. */
export async function freePort(port = 0): Promise<number> {
  const server = createServer();
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (address === null || typeof address === 'string') throw new Error('could not determine a free port');
  return address.port;
}

/** A free port whose port + 1000 (the dev server's Web UI) is free too. */
export async function freePortWithUi(): Promise<number> {
  for (;;) {
    const port = await freePort();
    const ui = port + UI_PORT_OFFSET;
    if (
      ui <= 65535 &&
      (await freePort(ui).then(
        () => true,
        () => false,
      ))
    )
      return port;
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
