import { Toaster } from '@plesk/ui-library';
import { createContext, createElement, useCallback, useContext, useMemo, useState, type ReactNode } from 'react';

interface Toasts {
  success(message: string): void;
  /** A refused or failed action: a toast that stays until closed, so the reason can be read. */
  error(message: string): void;
}

const ToastContext = createContext<Toasts>({ success: () => undefined, error: () => undefined });

export const useToasts = (): Toasts => useContext(ToastContext);

/** Success messages as Plesk shows them: a toast at the corner that closes by itself. */
export function ToastProvider({ children }: { children: ReactNode }) {
  const [toasts, setToasts] = useState<Array<{ key: string; message: string; intent: 'success' | 'danger' }>>([]);
  const add = useCallback((message: string, intent: 'success' | 'danger') => {
    setToasts((current) => [...current, { key: `${Date.now()}-${current.length}`, message, intent }]);
  }, []);
  const value = useMemo(() => ({ success: (message: string) => add(message, 'success'), error: (message: string) => add(message, 'danger') }), [add]);
  return (
    <ToastContext.Provider value={value}>
      {children}
      <Toaster
        toasts={toasts.map((toast) => ({ key: toast.key, message: toast.message, intent: toast.intent, autoClosable: toast.intent === 'success' }))}
        onToastClose={(key) => setToasts((current) => current.filter((toast) => toast.key !== key))}
      />
    </ToastContext.Provider>
  );
}
