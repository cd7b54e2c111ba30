import { Toaster } from '@plesk/ui-library';
import { createContext, createElement, useCallback, useContext, useMemo, useState, type ReactNode } from 'react';

interface Toasts {
  success(message: string): void;
}

const ToastContext = createContext<Toasts>({ success: () => undefined });

export const useToasts = (): Toasts => useContext(ToastContext);

/** Success messages as Plesk shows them: a toast at the corner that closes by itself. */
export function ToastProvider({ children }: { children: ReactNode }) {
  const [toasts, setToasts] = useState<Array<{ key: string; message: string }>>([]);
  const success = useCallback((message: string) => {
    setToasts((current) => [...current, { key: `${Date.now()}-${current.length}`, message }]);
  }, []);
  const value = useMemo(() => ({ success }), [success]);
  return (
    <ToastContext.Provider value={value}>
      {children}
      <Toaster
        toasts={toasts.map((toast) => ({ key: toast.key, message: toast.message, intent: 'success' as const, autoClosable: true }))}
        onToastClose={(key) => setToasts((current) => current.filter((toast) => toast.key !== key))}
      />
    </ToastContext.Provider>
  );
}
