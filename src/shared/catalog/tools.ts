import { defineView } from './define.js';

export const toolSessions = defineView({
  name: 'tool_sessions',
  description:
    'Inverted index from tool name to the sessions that called it: for each tool, how many sessions used it and their ids (ascending).',
  refreshIntervalSeconds: 60,
  keyColumns: ['tool_name'],
  sql: `
    SELECT tool_name,
           count(DISTINCT session_id)                AS session_count,
           list(DISTINCT session_id ORDER BY session_id) AS session_ids
    FROM base.tool_calls
    GROUP BY tool_name
    ORDER BY tool_name`,
});
