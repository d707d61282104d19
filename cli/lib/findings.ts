/** How bad a finding is. Only `error` makes `doctor` exit non-zero. */
export type Severity = 'error' | 'warning' | 'info' | 'ok';

/** One thing `doctor` found, in plain language, with the command that fixes it. */
export interface Finding {
  /** Stable identifier for scripts (`rotation-disabled`, `pending-left-behind`, ...). */
  id: string;
  severity: Severity;
  title: string;
  detail?: string;
  fix?: string;
}
