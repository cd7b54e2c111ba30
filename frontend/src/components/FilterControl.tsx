import { SegmentedControl } from '@plesk/ui-library';
import { createElement, useEffect, useId, useState } from 'react';

/** The class ui-library 3.46 gives a SegmentedControl that has folded its buttons into one dropdown button. */
export const COLLAPSED_CLASS = 'pul-segmented-control--collapsed';

interface FilterControlProps<Value extends string> {
  label: string;
  selected: Value;
  onChange: (next: Value) => void;
  buttons: Array<{ value: Value; title: string }>;
}

/**
 * ui-library's SegmentedControl (label on the left) with a role that fits what it draws. Where there is no room for its buttons (a
 * phone) it folds them into one dropdown button but keeps role="list" on its box, and a list holding a button
 * is an accessibility fault (axe: aria-required-children). Folded, the box is a labelled group instead.
 */
export function FilterControl<Value extends string>({ label, selected, onChange, buttons }: FilterControlProps<Value>) {
  const id = useId();
  const [collapsed, setCollapsed] = useState(false);
  useEffect(() => {
    const root = document.getElementById(id);
    if (!root) return undefined;
    const check = () => setCollapsed(root.classList.contains(COLLAPSED_CLASS));
    check();
    const observer = new MutationObserver(check);
    observer.observe(root, { attributes: true, attributeFilter: ['class'] });
    return () => observer.disconnect();
  }, [id]);
  return (
    <SegmentedControl
      label={label}
      labelPlacement="left"
      selected={selected}
      onChange={(next: unknown) => onChange(next as Value)}
      buttons={buttons}
      // Passed on to the control's box by ui-library (its own role="list" comes first and is overridden).
      {...({ id, role: collapsed ? 'group' : 'list', 'aria-label': collapsed ? label : undefined } as object)}
    />
  );
}
