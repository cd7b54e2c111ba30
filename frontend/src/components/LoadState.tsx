import { Alert, Button, ContentLoader, Paragraph } from '@plesk/ui-library';
import { createElement, Fragment, type ReactNode } from 'react';
import type { ApiFailure } from '../api/client';
import { useText } from '../app/text';

interface LoadStateProps<T> {
  data: T | null;
  error: ApiFailure | null;
  onRetry: () => void;
  children: (data: T) => ReactNode;
}

/**
 * Loading, then the content; a failure without data is an error, a failed refresh a quiet warning. Retry is offered
 * only where asking again can help: a missing object or a refused permission stays so.
 */
export function LoadState<T>({ data, error, onRetry, children }: LoadStateProps<T>) {
  const text = useText();
  if (data === null) {
    if (error) {
      if (error.status === 404) return <Alert intent="warning">{text('common.notFound', { what: error.message })}</Alert>;
      if (error.status === 403) return <Alert intent="warning">{text('states.forbidden', { reason: error.message })}</Alert>;
      return (
        <Alert intent="danger">
          {text('common.loadFailed', { reason: error.message })} <Button onClick={onRetry}>{text('common.retry')}</Button>
        </Alert>
      );
    }
    return <ContentLoader text={text('common.loading')} />;
  }
  return (
    <Fragment>
      {error ? <Alert intent="warning">{text('common.refreshFailed', { reason: error.message })}</Alert> : null}
      {children(data)}
    </Fragment>
  );
}

/** An empty list as one line of text, where Plesk's empty view would show a large picture. */
export function EmptyState({ children }: { children: ReactNode }) {
  return (
    <Paragraph data-testid="empty-state">{children}</Paragraph>
  );
}
