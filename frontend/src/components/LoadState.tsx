import { Alert, Button, ContentLoader } from '@plesk/ui-library';
import { createElement, Fragment, type ReactNode } from 'react';
import type { ApiFailure } from '../api/client';
import { useText } from '../app/text';

interface LoadStateProps<T> {
  data: T | null;
  error: ApiFailure | null;
  onRetry: () => void;
  children: (data: T) => ReactNode;
}

/** Loading, then the content; a failure without data is an error with Retry, a failed refresh a quiet warning. */
export function LoadState<T>({ data, error, onRetry, children }: LoadStateProps<T>) {
  const text = useText();
  if (data === null) {
    if (error) {
      return (
        <Alert intent="danger">
          {error.status === 404 ? text('common.notFound', { what: error.message }) : text('common.loadFailed', { reason: error.message })}{' '}
          <Button onClick={onRetry}>{text('common.retry')}</Button>
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
