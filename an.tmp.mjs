import { DuckDBInstance } from '@duckdb/node-api';
import { CATALOG } from '/work/main/dist/src/shared/catalog/index.js';
const inst = await DuckDBInstance.create('/tmp/i12/exp/work.duckdb');
const c = await inst.connect();
await c.run(`SET VARIABLE timezone = 'America/Los_Angeles'`);
const v = CATALOG.find((x) => x.name === process.argv[2]);
await c.run(`CREATE OR REPLACE TEMP TABLE x AS ${v.sql}`);
const r = await c.runAndReadAll(`EXPLAIN ANALYZE CREATE OR REPLACE TEMP TABLE x AS ${v.sql}`);
console.log(r.getRows().map((row) => row[1]).join('\n'));
