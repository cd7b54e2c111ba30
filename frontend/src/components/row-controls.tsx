import { createElement, type CSSProperties, type ReactNode } from 'react';

/** The buttons and links of one row, side by side and wrapping onto a next line instead of being squeezed. */
const ROW_CONTROLS_STYLE: CSSProperties = { display: 'inline-flex', flexWrap: 'wrap', justifyContent: 'flex-end', alignItems: 'center', gap: 4 };

export function RowControls({ children }: { children: ReactNode }) {
  return (
    <span data-testid="row-controls" style={ROW_CONTROLS_STYLE}>
      {children}
    </span>
  );
}

/**
 * A list column of a row's own buttons and links (release, delete, the limit dialog, a link to held mail).
 * ui-library's column type "actions" is made for one ListActions menu: in the vertical layout List switches to on
 * narrow screens it becomes a 28 px box in the row's top right corner, so several buttons there were cut ("Rele",
 * "Dele") and drawn over the row's texts. As "controls" the column is right-aligned in the table and a line of its
 * own, under its title, in the vertical layout. `render` answers null for a row without controls.
 */
export function rowControlsColumn<Row>(key: string, title: string, render: (row: Row) => ReactNode) {
  return {
    key,
    title,
    type: 'controls' as const,
    align: 'right' as const,
    render: (row: Row) => {
      const controls = render(row);
      return controls === null || controls === undefined || controls === false ? null : <RowControls>{controls}</RowControls>;
    },
  };
}
