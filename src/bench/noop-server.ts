/**
 * The baseline for the node benchmark: Fastify with the same options as the region node's API and
 * one route that parses the JSON body and answers `{}` without touching storage.
 * Usage: node dist/bench/noop-server.js PORT
 */
import Fastify from 'fastify';
import { requestBodyBytesMax } from '../server/http-api.js';

const port = Number(process.argv[2]);
const app = Fastify({ bodyLimit: requestBodyBytesMax, routerOptions: { maxParamLength: 4 * 1024 } });
app.patch('/v1/tables/:table/rows/:key', async () => ({}));
await app.listen({ host: '127.0.0.1', port });
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
