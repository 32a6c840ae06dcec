const sh = `start_hours AS (SELECT DISTINCT date_trunc('hour', started_at) AS hour FROM base.sessions WHERE started_at IS NOT NULL)`;
const nx = `nexts AS MATERIALIZED (
  SELECT t - INTERVAL 5 HOUR AS hour, next FROM (
    SELECT t, is_probe, min(start) OVER (ORDER BY t, is_probe DESC ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING) AS next
    FROM (SELECT hour AS t, hour AS start, false AS is_probe FROM start_hours UNION ALL SELECT hour + INTERVAL 5 HOUR, NULL, true FROM start_hours))
  WHERE is_probe)`;
const nextPtr = `WITH RECURSIVE ${sh}, ${nx},
 blocks(block_start) AS (SELECT min(hour) FROM start_hours UNION ALL SELECT n.next FROM blocks b JOIN nexts n ON n.hour = b.block_start WHERE n.next IS NOT NULL)
 SELECT * FROM blocks`;
import { usageBlocks } from '/work/main/dist/src/shared/catalog/usage.js';
const sql = usageBlocks.sql;
const i = sql.indexOf('placed AS');
const blocksOnly = sql.slice(0, i).replace(/,\s*$/, '') + ' SELECT * FROM blocks';
console.log(JSON.stringify({ blocksOnly, nextPtr }));
