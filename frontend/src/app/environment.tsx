import { createContext, useContext } from 'react';
import type { ApiClient } from '../api/client';
import type { SessionInfo } from '../api/types';
import type { Navigator } from './navigation';

/** What every screen needs: the API, who is looking, how to move between screens and how often to refresh. */
export interface Environment {
  api: ApiClient;
  session: SessionInfo;
  navigator: Navigator;
  /** Live usage is re-read this often. */
  pollMs: number;
}

export const EnvironmentContext = createContext<Environment | null>(null);

export function useEnvironment(): Environment {
  const environment = useContext(EnvironmentContext);
  if (!environment) throw new Error('useEnvironment outside EnvironmentContext');
  return environment;
}
