/**
 * A forward proxy for tests that speaks CONNECT (what hpagent uses for http and https targets alike) and records
 * every tunnel it opened.
 */
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';

export class ForwardProxy {
  log: { method: string; target: string }[] = [];
  url = '';
  readonly server = http.createServer((_req, res) => res.writeHead(405).end());

  async start(): Promise<this> {
    this.server.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
      const target = req.url ?? '';
      this.log.push({ method: req.method ?? '', target });
      const [host, port] = [
        target.slice(0, target.lastIndexOf(':')),
        Number(target.slice(target.lastIndexOf(':') + 1)),
      ];
      const upstream = net.connect(port, host, () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.write(head);
        upstream.pipe(client);
        client.pipe(upstream);
      });
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}
