// The flows module's public API: OpenLineage validation and parsing, the flow graph, the tool
// inventory, leak paths, impact of a policy change, and the HTTP routes.
export { createLineageValidator, type LineageValidator, type LineageValidationResult } from './openlineage.js';
export { parseLineageEvent, type ParsedLineageEvent } from './lineage-event.js';
export { FlowGraph, datasetId, describeEvent, type GraphEvent, type GraphDataset, type RunNode } from './graph.js';
export { parseInventory, InventoryError, type Inventory, type Tool, type InventoryJob } from './inventory.js';
export { analyzeFlows, placeResolver, type FlowAnalysis, type Leak, type LeakKind, type PathStep, type Undocumented } from './leaks.js';
export { formatLeaks, leaksSarif, leakTitle, type FlowExtras } from './report.js';
export {
  readEvents,
  readEventFile,
  checkEvents,
  buildGraph,
  eventKey,
  toGraphEvent,
  loadFlowSources,
  lineageValidator,
  type SourcedEvent,
  type FlowSources,
} from './load.js';
export { flowImpact, compareLeaks, leaksUnder, type FlowImpact } from './impact.js';
export { flowMap, flowMapJson, hasFindings, withJobFacets, type FlowMap, type PossiblyProtected, type Unconventional } from './flow-map.js';
export { datasetResolver, type DatasetResolution } from './resolve.js';
export { overviewGraph, type OverviewNode, type OverviewEdge } from './overview.js';
export { flowRoutes, type FlowRoutesOptions } from './routes.js';
export { BackdoorFinder, DEFAULT_AUDIT_POLL_MS, formatBackdoors, type Backdoor, type FinderHealth, type AuditSourceHealth } from './audit/index.js';
