// The backdoor finder's public API.
export { BackdoorFinder, DEFAULT_AUDIT_POLL_MS, type Backdoor, type FinderHealth, type AuditSourceHealth, type FinderOptions } from './finder.js';
export { formatBackdoors } from './report.js';
export { columnsRead, redact, loadSqlParser, type ColumnsRead, type ColumnsHow } from './columns.js';
export { parseRecord, splitRecords, splitObjectName, logTime, type AuditEntry, type CsvlogRecord } from './csvlog.js';
