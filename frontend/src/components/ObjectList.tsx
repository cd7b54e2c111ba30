import { Button, List, Pagination, SearchBar, Toolbar, ToolbarExpander, ToolbarGroup } from '@plesk/ui-library';
import { createElement, Fragment, useCallback, useRef, useState, type ReactNode } from 'react';
import type { Level, ListQuery, ObjectRow } from '../api/types';
import { useEnvironment } from '../app/environment';
import type { Target } from '../app/navigation';
import { useText } from '../app/text';
import { useDebounced } from '../app/use-debounced';
import { useResource } from '../app/use-resource';
import { effectiveLimitText, usageText } from './limit-text';
import { LimitDialog } from './LimitDialog';
import { LimitCell, useLockText } from './LockMark';
import { EmptyState, LoadState } from './LoadState';
import { NavLink } from './NavLink';
import { CompromisedAction, CompromisedLabel } from './CompromisedMark';
import { ExemptionAction, ExemptionDialog, ExemptionLabel } from './ExemptionMark';
import { AnomalyMark } from './Anomalies';
import { rowControlsColumn } from './row-controls';
import { SendingStatus } from './SendingStatus';

const PAGE_SIZE = 25;
type SortColumn = 'name' | 'used' | 'limit';
const SORT_COLUMN: Record<string, SortColumn> = { name: 'name', usage: 'used', limit: 'limit' };
const COLUMN_OF_SORT: Record<SortColumn, string> = { name: 'name', used: 'usage', limit: 'limit' };
/** Set widths for the columns whose text changes with live usage, so a refresh never makes the table jump. */
const COLUMN_WIDTHS = { limit: '24%', usage: '28%', status: '18%' } as const;

interface ObjectListProps {
  level: Level;
  filter?: Pick<ListQuery, 'subscription' | 'domain'>;
  /** Whether this user may open "Limit Outgoing Messages" here (the API still decides each change). */
  canEdit: boolean;
  linkTo?: (row: ObjectRow) => Target;
  /** Told after a change, e.g. to refresh a summary of the parent. */
  onChanged?: () => void;
  /** More actions of a row, after "Limit Outgoing Messages". */
  rowActions?: (row: ObjectRow) => ReactNode;
}

/**
 * Subscriptions, domains or email addresses with their limits and live usage: searched, sorted and paged by the
 * API (lists stay responsive with 100,000 mailboxes), refreshed while shown, and "Limit Outgoing Messages" for one
 * row or for all selected rows at once.
 */
export function ObjectList({ level, filter = {}, canEdit, linkTo, onChanged, rowActions }: ObjectListProps) {
  const { api, pollMs } = useEnvironment();
  const text = useText();
  const lockText = useLockText();
  const [search, setSearch] = useState('');
  const [page, setPage] = useState(1);
  const [sort, setSort] = useState<{ sort: SortColumn; order: 'asc' | 'desc' }>({ sort: 'name', order: 'asc' });
  const [selection, setSelection] = useState<string[]>([]);
  const [dialogRows, setDialogRows] = useState<ObjectRow[] | null>(null);
  const [exemptionRow, setExemptionRow] = useState<ObjectRow | null>(null);

  const query: ListQuery = { ...filter, search: search || undefined, sort: sort.sort, order: sort.order, page, pageSize: PAGE_SIZE };
  const key = JSON.stringify([level, query]);
  const load = useCallback(() => api.list(level, query), [api, key]); // eslint-disable-line react-hooks/exhaustive-deps
  const resource = useResource(load, key, pollMs);
  // While another search or page loads, the list (and the search field being typed in) stays as it was.
  const lastData = useRef(resource.data);
  if (resource.data) lastData.current = resource.data;
  const shown = resource.data ?? (resource.error ? null : lastData.current);

  const applySearch = (value: string) => {
    setSearch(value.trim());
    setPage(1);
    setSelection([]);
  };
  const searchAsTyped = useDebounced(applySearch);

  const levelName = text(`levels.${level}`);
  const columns = [
    {
      key: 'name',
      title: text('list.name'),
      type: 'title' as const,
      sortable: true,
      render: (row: ObjectRow) => (
        <span>
          {linkTo ? <NavLink to={linkTo(row)}>{row.name}</NavLink> : row.name}
          <CompromisedLabel row={row} />
          <ExemptionLabel row={row} />
          <AnomalyMark row={row} />
        </span>
      ),
    },
    {
      key: 'limit',
      title: text('list.limit'),
      sortable: true,
      width: COLUMN_WIDTHS.limit,
      render: (row: ObjectRow) => <LimitCell row={row}>{effectiveLimitText(text, row)}</LimitCell>,
    },
    { key: 'usage', title: text('list.usage'), sortable: true, width: COLUMN_WIDTHS.usage, render: (row: ObjectRow) => <span data-testid="usage">{usageText(text, row)}</span> },
    { key: 'status', title: text('list.status'), width: COLUMN_WIDTHS.status, render: (row: ObjectRow) => <SendingStatus row={row} /> },
    ...(canEdit || rowActions || level === 'mailbox'
      ? [
          rowControlsColumn('actions', text('list.actions'), (row: ObjectRow) => (
            <Fragment>
              {canEdit ? (
                // A locked value: the action says so and who holds the lock; it opens the dialog read-only (who
                // set it, Close only), as Plesk shows a value the plan or provider fixed rather than hiding it.
                <Button
                  ghost
                  icon={row.lockedForYou ? 'lock-closed' : 'pencil'}
                  aria-label={row.lockedForYou ? lockText(row, 'reasons.lockedEdit') : text('list.rowLimitOf', { name: row.name })}
                  tooltip={row.lockedForYou ? lockText(row, 'reasons.lockedEdit') : text('list.rowLimitOf', { name: row.name })}
                  onClick={() => setDialogRows([row])}
                />
              ) : null}
              {rowActions?.(row)}
              <ExemptionAction row={row} onOpen={setExemptionRow} />
              <CompromisedAction
                row={row}
                onChanged={() => {
                  resource.reload();
                  onChanged?.();
                }}
              />
            </Fragment>
          )),
        ]
      : []),
  ];

  const toolbar = (
    <Toolbar>
      {canEdit ? (
        <ToolbarGroup title={levelName}>
          <Button
            disabled={selection.length === 0}
            onClick={() => setDialogRows((resource.data?.items ?? []).filter((row) => selection.includes(row.name)))}
          >
            {text('list.bulkLimit')}
          </Button>
        </ToolbarGroup>
      ) : null}
      <ToolbarExpander />
      <ToolbarGroup title={text('common.search')}>
        <SearchBar
          inputProps={{ placeholder: text('list.searchPlaceholder'), 'aria-label': text('list.searchPlaceholder') } as never}
          onTyping={(value: string) => searchAsTyped.call(value)}
          onSearch={(value: string) => {
            searchAsTyped.cancel();
            applySearch(value);
          }}
        />
      </ToolbarGroup>
    </Toolbar>
  );

  return (
    <LoadState data={shown} error={resource.error} onRetry={resource.reload}>
      {(data) => (
        <div data-testid={`${level}-list`}>
          <List
            columns={columns}
            data={data.items}
            rowKey="name"
            toolbar={toolbar}
            totalRows={data.total}
            selection={canEdit ? selection : undefined}
            onSelectionChange={canEdit ? (keys: unknown[]) => setSelection(keys.map(String)) : undefined}
            sortColumn={COLUMN_OF_SORT[sort.sort]}
            sortDirection={sort.order === 'asc' ? 'ASC' : 'DESC'}
            onSortChange={({ sortColumn, sortDirection }) => {
              setSort({ sort: SORT_COLUMN[sortColumn] ?? 'name', order: sortDirection === 'ASC' ? 'asc' : 'desc' });
              setPage(1);
            }}
            filtered={search !== ''}
            emptyView={<EmptyState>{text(search ? 'list.emptySearch' : 'list.empty')}</EmptyState>}
            pagination={
              data.total > PAGE_SIZE ? <Pagination total={Math.ceil(data.total / PAGE_SIZE)} current={page} onSelect={(next: number) => setPage(next)} /> : undefined
            }
          />
          {dialogRows && dialogRows.length > 0 ? (
            <LimitDialog
              level={level}
              rows={dialogRows}
              onClose={() => setDialogRows(null)}
              onSaved={() => {
                setDialogRows(null);
                setSelection([]);
                resource.reload();
                onChanged?.();
              }}
            />
          ) : null}
          {exemptionRow ? (
            <ExemptionDialog
              row={exemptionRow}
              onClose={() => setExemptionRow(null)}
              onSaved={() => {
                setExemptionRow(null);
                resource.reload();
                onChanged?.();
              }}
            />
          ) : null}
        </div>
      )}
    </LoadState>
  );
}
