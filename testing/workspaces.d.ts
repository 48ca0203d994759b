export interface Workspace {
  dir: string;
  name: string;
  short: string;
  dependencies: string[];
  devDependencies: string[];
  entries: string[];
}
export function readWorkspaces(root: string): Workspace[];
export const TEST_ONLY: string;
