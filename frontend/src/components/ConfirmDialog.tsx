import { Dialog, Paragraph } from '@plesk/ui-library';
import { createElement, useState, type ReactNode } from 'react';
import { useText } from '../app/text';

interface ConfirmDialogProps {
  title: string;
  /** What will happen, in full sentences: people decide on this text. */
  children: ReactNode;
  confirmLabel: string;
  danger?: boolean;
  /** Runs the action; the dialog closes when it settles (success and failure are told by toasts). */
  onConfirm: () => Promise<void>;
  onClose: () => void;
}

/** A Plesk confirmation: what happens, then the action's own button and Cancel. */
export function ConfirmDialog({ title, children, confirmLabel, danger = false, onConfirm, onClose }: ConfirmDialogProps) {
  const text = useText();
  const [busy, setBusy] = useState(false);
  return (
    <Dialog
      isOpen
      size="sm"
      title={title}
      onClose={onClose}
      form={{
        onSubmit: () => {
          setBusy(true);
          void onConfirm().finally(() => {
            setBusy(false);
            onClose();
          });
        },
        submitButton: { children: confirmLabel, intent: danger ? 'danger' : 'primary', state: busy ? 'loading' : undefined },
        cancelButton: { children: text('common.cancel'), onClick: onClose },
      }}
    >
      {typeof children === 'string' ? <Paragraph>{children}</Paragraph> : children}
    </Dialog>
  );
}
