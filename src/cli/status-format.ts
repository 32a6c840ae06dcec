/**
 * The format of `status --json` and `views --json`: fields are only ever added; this changes if one
 * is removed or changes meaning. A module of its own because both the commands' declarations
 * (operator-commands.ts, for the help) and the reports (status-report.ts) need it, and the
 * declarations must not load the reports: those open DuckDB, only when a command runs.
 */
export const STATUS_FORMAT = 2;
