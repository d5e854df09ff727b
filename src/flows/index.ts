// The flows module's public API: OpenLineage validation and parsing, the flow graph, the tool
// inventory, leak paths, impact of a policy change, and the HTTP routes.
export { createLineageValidator, type LineageValidator, type LineageValidationResult } from './openlineage.js';
export { parseLineageEvent, type ParsedLineageEvent } from './lineage-event.js';
export { FlowGraph, datasetId, type GraphEvent, type GraphDataset } from './graph.js';
export { parseInventory, InventoryError, type Inventory, type Tool, type InventoryJob } from './inventory.js';
export { analyzeFlows, placeResolver, type FlowAnalysis, type Leak, type LeakKind, type PathStep, type Undocumented } from './leaks.js';
export { formatLeaks, leaksSarif, leakTitle } from './report.js';
export { readEvents, readEventFile, checkEvents, buildGraph, loadFlowSources, lineageValidator, type SourcedEvent, type FlowSources } from './load.js';
export { flowImpact, type FlowImpact } from './impact.js';
export { flowRoutes, type FlowRoutesOptions } from './routes.js';
export { BackdoorFinder, DEFAULT_AUDIT_POLL_MS, formatBackdoors, type Backdoor, type FinderHealth, type AuditSourceHealth } from './audit/index.js';
