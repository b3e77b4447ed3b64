#!/usr/bin/env node
// The throughput baseline of bench/stateless.mjs: a bare Fastify server (the version NestJS's Fastify adapter
// brings in), one POST route that parses the JSON body and answers a small JSON object, no plugins, no logger.
// Run as its own process, as the gateway is; it prints `listening <port>` once it accepts connections.
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.post('/hello', async () => ({ hello: 'world' }));
const address = await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`listening ${new URL(address).port}\n`);
const close = () => app.close().then(() => process.exit(0));
process.once('SIGTERM', close);
process.once('SIGINT', close);
