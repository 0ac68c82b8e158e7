// Every migration, by its sortable name. Add new ones here; never rename or edit a released one.
import type { Migration } from 'kysely';
import * as initial from './2026-11-22-001-initial.js';
import * as apiAuth from './2026-11-22-003-api-auth.js';
import * as enrollment from './2026-11-22-004-enrollment.js';
import * as sourceKind from './2026-12-02-005-source-kind.js';
import * as partitionFunctions from './2026-12-03-006-partition-functions.js';
import * as timelineIndexes from './2026-12-03-007-timeline-indexes.js';
import * as eventSearch from './2026-12-03-009-event-search.js';
import * as auditTarget from './2026-12-03-010-audit-target.js';
import * as networkAggregates from './2026-12-03-011-network-aggregates.js';
import * as sourceHost from './2026-12-03-012-source-host.js';
import * as networkPartitions from './2026-12-03-013-network-partitions.js';

export const migrations: Record<string, Migration> = {
  '2026-11-22-001-initial': initial,
  '2026-11-22-003-api-auth': apiAuth,
  '2026-11-22-004-enrollment': enrollment,
  '2026-12-02-005-source-kind': sourceKind,
  '2026-12-03-006-partition-functions': partitionFunctions,
  '2026-12-03-007-timeline-indexes': timelineIndexes,
  '2026-12-03-009-event-search': eventSearch,
  '2026-12-03-010-audit-target': auditTarget,
  '2026-12-03-011-network-aggregates': networkAggregates,
  '2026-12-03-012-source-host': sourceHost,
  '2026-12-03-013-network-partitions': networkPartitions,
};
